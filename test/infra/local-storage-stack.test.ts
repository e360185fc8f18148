import test from 'ava';
import { planStack, type StackPlan } from '../../infra/plan/plan-stack.js';
import { at, one } from './plan-helpers.js';

// ml.c5d has local NVMe storage: CreateEndpointConfig fails when KmsKeyId is set for it.
let plan: StackPlan;
test.before(async () => {
  plan = await planStack({ stack: 'dev', config: { 'forecast-fleet:endpointInstanceType': 'ml.c5d.xlarge' } });
});

test('an endpoint on a local-NVMe instance type names no volume key (SageMaker would refuse it)', (t) => {
  const config = one(plan, 'aws:sagemaker/endpointConfiguration:EndpointConfiguration');
  t.is(at(config.inputs, 'productionVariants', 0, 'instanceType'), 'ml.c5d.xlarge');
  t.false('kmsKeyArn' in config.inputs && config.inputs['kmsKeyArn'] !== undefined, String(config.inputs['kmsKeyArn']));
});
