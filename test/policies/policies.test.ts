import test from 'ava';
import type { Policy } from '@pulumi/policy';
import { policies } from '../../policies/pack.js';
import { UNKNOWN_VALUE } from '../../policies/offline/policy-runtime.js';
import { caseConfig, failingCases, props, type Props } from './cases.js';
import { compliantStack } from './fixtures.js';
import { describeDiagnostics, diagnosticsOf } from './harness.js';

const byName = new Map<string, Policy>(policies.map((p) => [p.name, p]));

test('the compliant fixture stack passes every policy', async (t) => {
  const diagnostics = await diagnosticsOf(policies, compliantStack());
  t.deepEqual(diagnostics, [], describeDiagnostics(diagnostics));
});

test('every policy has at least one failing case', (t) => {
  const covered = new Set(failingCases.map((c) => c.policy));
  t.deepEqual(policies.map((p) => p.name).filter((n) => !covered.has(n)), []);
});

for (const c of failingCases) {
  test(`${c.policy} fails: ${c.title}`, async (t) => {
    const policy = byName.get(c.policy);
    if (!policy) return t.fail(`no policy named ${c.policy}`);
    const fresh = compliantStack();
    const stack = c.breakStack(fresh) ?? fresh;
    const diagnostics = await diagnosticsOf([policy], stack, caseConfig[c.title]);
    const violations = diagnostics.filter((d) => d.policyName === c.policy && !d.unknownDuringPreview);
    t.true(violations.length > 0, `expected a violation of ${c.policy}`);
    t.regex(violations.map((d) => d.message).join('\n'), c.expect);
    t.true(violations.every((d) => d.enforcementLevel === policy.enforcementLevel));
  });
}

test('enforcement levels follow the pack config: per policy, then all', async (t) => {
  const stack = compliantStack();
  (props(stack, 'retraining-logs') as Props)['retentionInDays'] = 0;
  const advisory = await diagnosticsOf(policies, stack, { all: 'advisory' });
  t.true(advisory.some((d) => d.policyName === 'cloudwatch-log-group-retention' && d.enforcementLevel === 'advisory'));
  const perPolicy = await diagnosticsOf(policies, stack, { all: 'advisory', 'cloudwatch-log-group-retention': { enforcementLevel: 'mandatory' } });
  t.true(perPolicy.some((d) => d.policyName === 'cloudwatch-log-group-retention' && d.enforcementLevel === 'mandatory'));
  const disabled = await diagnosticsOf(policies, stack, { 'cloudwatch-log-group-retention': 'disabled' });
  t.false(disabled.some((d) => d.policyName === 'cloudwatch-log-group-retention'));
});

test('a config value overrides the schema default', async (t) => {
  const stack = compliantStack();
  const gpuAllowed = { 'sagemaker-endpoint-instance-type-allowed': { allowedInstanceTypes: ['ml.g5.*', 'ml.c5.*'] } };
  (props(stack, 'endpoint-config')['productionVariants'] as Props[])[0]!['instanceType'] = 'ml.g5.xlarge';
  t.deepEqual(await diagnosticsOf(byName.has('sagemaker-endpoint-instance-type-allowed') ? [byName.get('sagemaker-endpoint-instance-type-allowed')!] : [], stack, gpuAllowed), []);
});

test('an unknown value during preview is an advisory "can\'t run", not a violation', async (t) => {
  const stack = compliantStack();
  props(stack, 'retraining-task')['containerDefinitions'] = UNKNOWN_VALUE;
  const diagnostics = await diagnosticsOf([byName.get('ecs-task-non-root-user')!], stack);
  t.is(diagnostics.length, 1);
  t.true(diagnostics[0]!.unknownDuringPreview);
  t.is(diagnostics[0]!.enforcementLevel, 'advisory');
  t.regex(diagnostics[0]!.message, /can't run policy 'ecs-task-non-root-user' during preview: string value at \.containerDefinitions/);
});

test('presence checks do not read unknown ARNs', async (t) => {
  const stack = compliantStack();
  props(stack, 'endpoint-config')['kmsKeyArn'] = UNKNOWN_VALUE;
  (props(stack, 'retraining-schedule')['target'] as Props)['deadLetterConfig'] = { arn: UNKNOWN_VALUE };
  const checked = ['sagemaker-endpoint-config-kms-key', 'scheduler-schedule-dead-letter-queue'].map((n) => byName.get(n)!);
  t.deepEqual(await diagnosticsOf(checked, stack), []);
});

test('stack policies correlate through property dependencies even when ids are unknown', async (t) => {
  const stack = compliantStack();
  for (const name of ['storage-public-access', 'storage-encryption', 'storage-versioning']) props(stack, name)['bucket'] = UNKNOWN_VALUE;
  props(stack, 'storage-bucket')['bucket'] = UNKNOWN_VALUE;
  const s3 = ['s3-bucket-public-access-blocked', 's3-bucket-encrypted', 's3-bucket-versioned'].map((n) => byName.get(n)!);
  t.deepEqual(await diagnosticsOf(s3, stack), []);
});

test('a policy that throws is an error naming the policy, as the engine fails the run', async (t) => {
  const stack = compliantStack();
  props(stack, 'roles-sagemaker-policy')['policy'] = '{not json';
  await t.throwsAsync(diagnosticsOf([byName.get('iam-no-wildcard-write-actions')!], stack), {
    message: /iam-no-wildcard-write-actions.*not valid JSON/,
  });
});

test('a companion given the bucket name as a literal still counts as the bucket\'s', async (t) => {
  const stack = compliantStack().map((r) => (r.name === 'storage-public-access' ? { ...r, propertyDependencies: {}, dependencies: [] } : r));
  t.deepEqual(await diagnosticsOf([byName.get('s3-bucket-public-access-blocked')!], stack), []);
});
