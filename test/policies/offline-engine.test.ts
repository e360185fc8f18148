import test from 'ava';
import type { PlannedResource } from '../../infra/plan/plan-stack.js';
import { policies } from '../../policies/pack.js';
import { analyzeStackWithPack } from '../../policies/offline/check.js';
import { stackFromPlan } from '../../policies/offline/from-plan.js';
import { resolvePolicies } from '../../policies/offline/pack-config.js';
import { requiredTags } from '../../policies/tags.js';

const STACK = 'urn:pulumi:dev::forecast-fleet';

function planned(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<PlannedResource> = {}): PlannedResource {
  return { urn: `${STACK}::${type}::${name}`, type, name, custom: true, inputs, outputs: inputs, dependencies: [], propertyDependencies: {}, ...extra };
}

test('pack config errors name the key, the problem and what is expected', (t) => {
  t.throws(() => resolvePolicies(policies, 'advisory', { 's3-bucket-tls-onyl': 'advisory' }), { message: /s3-bucket-tls-onyl: not a policy of this pack/ });
  t.throws(() => resolvePolicies(policies, 'advisory', { all: 'blocking' }), { message: /all: expected an enforcement level \(advisory, mandatory, remediate, disabled\), found "blocking"/ });
  t.throws(() => resolvePolicies(policies, 'advisory', { 'required-tags': { requiredTag: ['x'] } }), { message: /required-tags\.requiredTag: not a setting of this policy \(settings: requiredTags\)/ });
  t.throws(() => resolvePolicies(policies, 'advisory', { 'ecr-repository-tag-mutability': { allowedTagMutability: ['SOMETIMES'] } }), { message: /allowedTagMutability\[0\]: expected one of/ });
});

test('resolved levels: per-policy config over all over the policy over the pack', (t) => {
  const byName = (config: Record<string, unknown>) => new Map(resolvePolicies(policies, 'advisory', config).map((r) => [r.policy.name, r]));
  const defaults = byName({});
  t.is(defaults.get('required-tags')!.enforcementLevel, 'advisory');
  t.is(defaults.get('s3-bucket-tls-only')!.enforcementLevel, 'mandatory');
  t.deepEqual(defaults.get('sagemaker-endpoint-instance-type-allowed')!.config, { allowedInstanceTypes: ['ml.c5.*'] });
  const configured = byName({ all: 'advisory', 'required-tags': { enforcementLevel: 'mandatory', requiredTags: ['owner'] } });
  t.is(configured.get('s3-bucket-tls-only')!.enforcementLevel, 'advisory');
  t.is(configured.get('required-tags')!.enforcementLevel, 'mandatory');
  t.deepEqual(configured.get('required-tags')!.config, { requiredTags: ['owner'] });
});

test('a planned resource sees its explicit provider, and otherwise the default provider from aws:* stack config', async (t) => {
  const provider = planned('pulumi:providers:aws', 'aws', { region: 'eu-west-1', defaultTags: JSON.stringify({ tags: { environment: 'dev', team: 'x' } }) });
  const explicit = planned('aws:sqs/queue:Queue', 'explicit', {}, { provider: `${provider.urn}::provider-id` });
  const implicit = planned('aws:sns/topic:Topic', 'implicit', {});
  const stack = stackFromPlan([provider, explicit, implicit], { 'aws:region': 'eu-west-1', 'aws:defaultTags': JSON.stringify({ tags: { environment: 'dev' } }) });
  t.is(stack.inputs.find((r) => r.name === 'explicit')!.provider!.urn, provider.urn);
  t.is(stack.inputs.find((r) => r.name === 'implicit')!.provider!.props['defaultTags'], JSON.stringify({ tags: { environment: 'dev' } }));
  const analysis = await analyzeStackWithPack([requiredTags], stack);
  t.deepEqual(analysis.diagnostics.map((d) => [d.urn, d.message.split('\n')[1]]), [[implicit.urn, 'Expected tags [environment, team], missing [team].']]);
});
