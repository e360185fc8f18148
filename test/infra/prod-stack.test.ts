import test from 'ava';
import { readPipelineConfig } from '../../runtime/config/pipeline-config.js';
import { planStack, type StackPlan } from '../../infra/plan/plan-stack.js';
import { at, ofType, one } from './plan-helpers.js';

let plan: StackPlan;
test.before(async () => {
  plan = await planStack({ stack: 'prod' });
});

function taskEnvironment(): Record<string, string> {
  const task = one(plan, 'aws:ecs/taskDefinition:TaskDefinition');
  const [container] = JSON.parse(task.inputs['containerDefinitions'] as string) as { environment: { name: string; value: string }[] }[];
  return Object.fromEntries((container?.environment ?? []).map((e) => [e.name, e.value]));
}

test('a prod-like stack has a fixed fleet: no autoscaling resources, two ml.c5.xlarge instances', (t) => {
  t.is(ofType(plan, 'aws:appautoscaling/target:Target').length, 0);
  t.is(ofType(plan, 'aws:appautoscaling/policy:Policy').length, 0);
  const variant = at(one(plan, 'aws:sagemaker/endpointConfiguration:EndpointConfiguration').inputs, 'productionVariants', 0);
  t.is(at(variant, 'instanceType'), 'ml.c5.xlarge');
  t.is(at(variant, 'initialInstanceCount'), 2);
  t.is(one(plan, 'aws:sagemaker/endpoint:Endpoint').inputs['name'], 'forecast-fleet-prod');
});

test('training runs on demand (spot off) with the stack\'s instance type, count and customers per instance', (t) => {
  const config = readPipelineConfig({ ...taskEnvironment(), FORECAST_SCHEDULED_TIME: '2026-11-26T06:30:00Z' });
  t.false(config.training.spot);
  t.is(config.training.instanceType, 'ml.c5.2xlarge');
  t.is(config.training.instanceCount, 4);
  t.is(config.training.customersPerInstance, 1000);
  t.is(config.training.maxRuntimeSeconds, 21600);
  t.is(config.processing.instanceType, 'ml.m5.xlarge');
  t.is(config.jobNamePrefix, 'forecast-fleet-prod');
  t.is(config.scheduleTimezone, 'America/New_York');
});

test('the stack\'s region, schedule, retention, task size and alarm e-mail are applied', (t) => {
  t.is(one(plan, 'pulumi:providers:aws').inputs['region'], 'us-east-1');
  const schedule = one(plan, 'aws:scheduler/schedule:Schedule');
  t.is(schedule.inputs['scheduleExpression'], 'cron(30 1 * * ? *)');
  t.is(schedule.inputs['scheduleExpressionTimezone'], 'America/New_York');
  t.deepEqual(at(schedule.inputs, 'target', 'retryPolicy'), { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 7200 });
  t.is(one(plan, 'aws:cloudwatch/logGroup:LogGroup').inputs['retentionInDays'], 90);
  const task = one(plan, 'aws:ecs/taskDefinition:TaskDefinition');
  t.is(task.inputs['cpu'], '1024');
  t.is(task.inputs['memory'], '2048');
  const subscription = one(plan, 'aws:sns/topicSubscription:TopicSubscription');
  t.is(subscription.inputs['protocol'], 'email');
  t.is(subscription.inputs['endpoint'], 'oncall@example.com');
  t.is(subscription.inputs['topic'], one(plan, 'aws:sns/topic:Topic').outputs['arn']);
  const rules = one(plan, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs['rules'] as Record<string, unknown>[];
  t.is(at(rules.find((rule) => at(rule, 'filter', 'prefix') === 'runs/'), 'expiration', 'days'), 90);
  t.is(at(one(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm', 'monitoring-model-loading-wait').inputs, 'threshold'), 2_000_000);
});

test('ARNs and names follow the stack: nothing of dev leaks into prod', (t) => {
  const text = JSON.stringify(plan.resources);
  t.false(text.includes('forecast-fleet-dev'));
  t.false(text.includes('eu-west-1'));
  t.regex(String(plan.outputs['bucketName']), /^forecast-fleet-prod-\d{26}$/);
});
