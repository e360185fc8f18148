import test from 'ava';
import * as pulumi from '@pulumi/pulumi';
import { CONFIG_DEFAULTS, checkScheduleExpression, parseStackConfig, StackConfigError, type ConfigKey } from '../../infra/config.js';
import { DEFAULT_PUBLISHING_RULES } from '../../runtime/config/publishing-rules.js';
import { forecastFleet } from '../../infra/program.js';

const parse = (raw: Partial<Record<ConfigKey, string>>, region: string | undefined = 'eu-west-1') => parseStackConfig('forecast-fleet', raw, region);

function problems(raw: Partial<Record<ConfigKey, string>>, region?: string): readonly string[] {
  try {
    parse(raw, region);
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

test('defaults: ml.c5.xlarge endpoint with autoscaling, spot training, nightly at 02:00 UTC', (t) => {
  const config = parse({});
  t.is(config.endpoint.instanceType, 'ml.c5.xlarge');
  t.is(config.endpoint.instanceCount, 1);
  t.deepEqual(config.autoscaling, {
    minInstances: 1,
    maxInstances: 4,
    targetInvocationsPerInstance: 1000,
    scaleInCooldownSeconds: 600,
    scaleOutCooldownSeconds: 120,
  });
  t.true(config.training.spot);
  t.is(config.training.customersPerInstance, 500);
  t.is(config.schedule.expression, CONFIG_DEFAULTS.scheduleCron);
  t.is(config.schedule.timezone, 'UTC');
  t.is(config.alarmEmail, undefined);
  t.deepEqual(config.monitoring, { metricsNamespace: 'ForecastFleet', alarmRejectedShare: 0.05, alarmQuarantinedShare: 0.01 });
  t.deepEqual(config.tags, {});
});

test('values are parsed from the strings Pulumi stores, objects included', (t) => {
  const config = parse({
    endpointInstanceCount: '3',
    autoscalingEnabled: 'false',
    trainingSpot: 'false',
    trainingCustomersPerInstance: '2000',
    hyperparameters: '{"holdout_days": 28, "weekly": true}',
    tags: '{"team": "forecasting"}',
    alarmEmail: 'oncall@example.com',
  });
  t.is(config.endpoint.instanceCount, 3);
  t.is(config.autoscaling, undefined);
  t.false(config.training.spot);
  t.is(config.training.customersPerInstance, 2000);
  t.deepEqual(config.training.hyperparameters, { holdout_days: '28', weekly: 'true' });
  t.deepEqual(config.tags, { team: 'forecasting' });
  t.is(config.alarmEmail, 'oncall@example.com');
});

test('each bad value is reported with its key, what it was and what is expected', (t) => {
  const cases: [Partial<Record<ConfigKey, string>>, RegExp][] = [
    [{ endpointInstanceType: 'c5.xlarge' }, /^\[forecast-fleet:endpointInstanceType\] is "c5\.xlarge"; expected a SageMaker instance type such as ml\.c5\.xlarge$/],
    [{ endpointInstanceCount: '0' }, /^\[forecast-fleet:endpointInstanceCount\] is "0"; expected an integer from 1 to 100$/],
    [{ endpointInstanceCount: 'two' }, /^\[forecast-fleet:endpointInstanceCount\] is "two"/],
    [{ processingInstanceCount: '2' }, /^\[forecast-fleet:processingInstanceCount\] is "2"; expected 1$/],
    [{ trainingCustomersPerInstance: '0' }, /^\[forecast-fleet:trainingCustomersPerInstance\] is "0"; expected an integer from 1 to 1000000$/],
    [{ trainingSpot: 'yes' }, /^\[forecast-fleet:trainingSpot\] is "yes"; expected true or false$/],
    [{ scheduleCron: '0 2 * * *' }, /^\[forecast-fleet:scheduleCron\] is "0 2 \* \* \*"; expected cron\(minutes hours/],
    [{ scheduleCron: 'cron(0 2 * * * *)' }, /exactly one of day-of-month and day-of-week must be "\?"/],
    [{ scheduleTimezone: 'Mars/Olympus' }, /^\[forecast-fleet:scheduleTimezone\] is "Mars\/Olympus"; expected an IANA time zone/],
    [{ logRetentionDays: '10' }, /^\[forecast-fleet:logRetentionDays\] is 10; CloudWatch Logs accepts 1, 3, 5, 7, 14/],
    [{ pipelineCpu: '300' }, /^\[forecast-fleet:pipelineCpu\] is 300; expected one of Fargate's CPU sizes/],
    [{ pipelineCpu: '256', pipelineMemoryMiB: '4096' }, /^\[forecast-fleet:pipelineMemoryMiB\] is 4096; with 256 CPU units Fargate allows 512-2048 MiB/],
    [{ hyperparameters: '[1,2]' }, /^\[forecast-fleet:hyperparameters\] is \[1,2\]; expected an object of strings$/],
    [{ hyperparameters: '{"nested": {"a": 1}}' }, /^\[forecast-fleet:hyperparameters\]\.nested is \{"a":1\}; expected a string$/],
    [{ tags: '{"aws:owner": "me"}' }, /reserved by AWS/],
    [{ alarmEmail: 'not-an-address' }, /^\[forecast-fleet:alarmEmail\] is "not-an-address"; expected an e-mail address/],
    [{ metricsNamespace: 'AWS/Forecast' }, /^\[forecast-fleet:metricsNamespace\] is "AWS\/Forecast"; expected a CloudWatch namespace/],
    [{ alarmRejectedShare: '5%' }, /^\[forecast-fleet:alarmRejectedShare\] is "5%"; expected a share from 0 to 1/],
    [{ alarmQuarantinedShare: '1.5' }, /^\[forecast-fleet:alarmQuarantinedShare\] is "1\.5"; expected a share from 0 to 1/],
    [{ networkCidr: '10.0.0.0/8' }, /^\[forecast-fleet:networkCidr\] is "10\.0\.0\.0\/8"; expected an IPv4 CIDR block from \/16 to \/24/],
    [{ autoscalingMinInstances: '3', autoscalingMaxInstances: '2', endpointInstanceCount: '2' }, /autoscalingMinInstances\] is 3 but \[forecast-fleet:autoscalingMaxInstances\] is 2; expected min <= max/],
    [{ endpointInstanceCount: '5' }, /^\[forecast-fleet:endpointInstanceCount\] is 5; with autoscaling on it must lie within/],
  ];
  for (const [raw, expected] of cases) {
    const found = problems(raw);
    t.true(found.some((problem) => expected.test(problem)), `${JSON.stringify(raw)} gave ${JSON.stringify(found)}`);
  }
});

test('the region is required and checked', (t) => {
  t.regex(problems({}, '')[0] ?? '', /^\[aws:region\] is not set/);
  t.regex(problems({}, 'Europe')[0] ?? '', /^\[aws:region\] is "Europe"; expected an AWS region/);
});

test('every problem is reported at once, in one error that says nothing was created', (t) => {
  const error = t.throws(() => parse({ endpointInstanceType: 'big', trainingInstanceCount: '0', scheduleTimezone: 'Nowhere' }), {
    instanceOf: StackConfigError,
  });
  t.is(error?.problems.length, 3);
  t.regex(error?.message ?? '', /^Invalid stack configuration \(nothing was created\):\n {2}- \[forecast-fleet:endpointInstanceType\]/);
  t.is(error?.code, 'E_STACK_CONFIG');
});

test('schedule expressions follow EventBridge Scheduler\'s six-field cron', (t) => {
  t.is(checkScheduleExpression('cron(0 2 * * ? *)'), undefined);
  t.is(checkScheduleExpression('cron(15 3 ? * MON-FRI *)'), undefined);
  t.regex(checkScheduleExpression('rate(1 day)') ?? '', /expected cron/);
  t.regex(checkScheduleExpression('cron(0 2 * * ?)') ?? '', /expected 6 cron fields/);
  t.regex(checkScheduleExpression('cron(x 2 * * ? *)') ?? '', /minutes and hours/);
});

test('a bad value fails the program before any resource is declared', async (t) => {
  const declared: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        declared.push(args.type);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => {
        declared.push(args.token);
        return {};
      },
    },
    'forecast-fleet',
    'broken',
  );
  pulumi.runtime.setAllConfig({ 'aws:region': 'eu-west-1', 'forecast-fleet:endpointInstanceType': 'c5.xlarge' });
  const error = t.throws(() => forecastFleet(), { instanceOf: StackConfigError });
  t.regex(error?.message ?? '', /\[forecast-fleet:endpointInstanceType\] is "c5\.xlarge"/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(declared, []);
});

test('publishing rules are stack keys of the same names, with the pipeline\'s defaults and bounds', (t) => {
  t.deepEqual(parseStackConfig('forecast-fleet', {}, 'eu-west-1').publishing, DEFAULT_PUBLISHING_RULES);
  const config = parseStackConfig('forecast-fleet', { gateChampionTolerance: '0.3', warmModels: '500' }, 'eu-west-1');
  t.like(config.publishing, { gateChampionTolerance: 0.3, warmModels: 500, maxRejectedFraction: 0.2 });
  const error = t.throws(() => parseStackConfig('forecast-fleet', { maxStaleFraction: '2', warmModels: 'all' }, 'eu-west-1'), { instanceOf: StackConfigError });
  t.deepEqual(error?.problems, [
    '[forecast-fleet:maxStaleFraction] is "2"; expected a number from 0 to 1',
    '[forecast-fleet:warmModels] is "all"; expected an integer from 0 to 1000000',
  ]);
});
