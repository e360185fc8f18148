import test from 'ava';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { planStack, readStackConfig } from '../../infra/plan/plan-stack.js';
import { policies } from '../../policies/pack.js';
import type { StackToAnalyze } from '../../policies/offline/check.js';
import { analyzeStackWithPack } from '../../policies/offline/check.js';
import { analyzeResource } from '../../policies/offline/engine.js';
import { stackFromPlan } from '../../policies/offline/from-plan.js';
import { resolvePolicies } from '../../policies/offline/pack-config.js';
import { describeDiagnostics } from './harness.js';

/**
 * The shipped dev stack (the real program under mocks, Pulumi.dev.yaml) against the pack: every
 * policy applies to at least one of its resources and passes there.
 */

/** What each stack policy looks for; it has nothing to check on a stack without it. */
const stackPolicyTargets: Readonly<Record<string, string>> = {
  's3-bucket-public-access-blocked': 'aws:s3/bucket:Bucket',
  's3-bucket-encrypted': 'aws:s3/bucket:Bucket',
  's3-bucket-versioned': 'aws:s3/bucket:Bucket',
  's3-bucket-tls-only': 'aws:s3/bucket:Bucket',
  's3-bucket-owner-enforced': 'aws:s3/bucket:Bucket',
  's3-bucket-expires-noncurrent-versions': 'aws:s3/bucket:Bucket',
  'ecr-repository-lifecycle-policy': 'aws:ecr/repository:Repository',
  'stack-schedule-runs-own-task': 'aws:scheduler/schedule:Schedule',
  'stack-endpoint-reads-own-bucket': 'aws:sagemaker/endpoint:Endpoint',
};

let stack: StackToAnalyze;

test.before(async () => {
  const plan = await planStack({ stack: 'dev' });
  stack = stackFromPlan(plan.resources, await readStackConfig(plan.project, 'dev'));
});

/** The resources of the dev stack a resource policy does not declare not-applicable for. */
async function resourcesCheckedBy(policy: ResourceValidationPolicy): Promise<string[]> {
  const resolved = resolvePolicies([policy], 'advisory');
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource.length : 1;
  const checked: string[] = [];
  for (const resource of stack.inputs) {
    const result = await analyzeResource(resolved, resource);
    if (result.notApplicable.length < validations) checked.push(resource.name);
  }
  return checked;
}

for (const policy of policies) {
  test(`${policy.name} applies to the dev stack and passes`, async (t) => {
    const analysis = await analyzeStackWithPack([policy], stack);
    t.deepEqual(analysis.diagnostics, [], describeDiagnostics(analysis.diagnostics));
    if ('validateStack' in policy) {
      const target = stackPolicyTargets[policy.name];
      t.truthy(target, `no target type listed for stack policy ${policy.name}`);
      t.true(stack.outputs.some((r) => r.type === target), `the dev stack has no ${target}`);
    } else {
      t.not((await resourcesCheckedBy(policy as ResourceValidationPolicy)).length, 0, `${policy.name} checks nothing in the dev stack`);
    }
  });
}

test('the dev stack has no mandatory violation under the whole pack', async (t) => {
  const analysis = await analyzeStackWithPack(policies, stack);
  t.is(analysis.mandatory, 0, describeDiagnostics(analysis.diagnostics));
});
