import test from 'ava';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { PipelineConfigError, readPipelineConfig } from '../../../runtime/config/pipeline-config.js';

const minimal = {
  [PIPELINE_ENV.bucket]: 'forecast-local',
  [PIPELINE_ENV.sagemakerRoleArn]: 'arn:aws:iam::000000000000:role/forecast-sagemaker',
  [PIPELINE_ENV.processingImage]: 'forecast-processing:local',
  [PIPELINE_ENV.trainingImage]: 'forecast-training:local',
  [PIPELINE_ENV.endpointName]: 'forecast-local',
};

test('defaults fill everything optional', (t) => {
  const config = readPipelineConfig(minimal);
  t.is(config.bucket, 'forecast-local');
  t.is(config.rawPrefix, 'raw/');
  t.is(config.jobNamePrefix, 'forecast');
  t.is(config.training.instanceCount, 2);
  t.is(config.training.customersPerInstance, 500);
  t.false(config.training.spot);
  t.deepEqual(config.training.hyperparameters, {});
  t.is(config.scheduleTimezone, 'UTC');
  t.is(config.scheduledTime, undefined);
  t.true(Object.isFrozen(config));
});

test('every variable is read and typed', (t) => {
  const config = readPipelineConfig({
    ...minimal,
    [PIPELINE_ENV.rawPrefix]: '/drops/energy',
    [PIPELINE_ENV.jobNamePrefix]: 'fc-dev',
    [PIPELINE_ENV.trainingInstanceType]: 'ml.c5.2xlarge',
    [PIPELINE_ENV.trainingInstanceCount]: '4',
    [PIPELINE_ENV.trainingCustomersPerInstance]: '2000',
    [PIPELINE_ENV.trainingSpot]: 'true',
    [PIPELINE_ENV.trainingMaxRuntimeSeconds]: '7200',
    [PIPELINE_ENV.hyperparameters]: '{"holdout_days": 28, "seasonality_mode": "additive", "weekly_seasonality": true}',
    [PIPELINE_ENV.scheduleTimezone]: 'Europe/Paris',
    [PIPELINE_ENV.scheduledTime]: '2026-11-26T01:00:00Z',
  });
  t.is(config.rawPrefix, 'drops/energy/');
  t.is(config.jobNamePrefix, 'fc-dev');
  t.is(config.training.instanceType, 'ml.c5.2xlarge');
  t.is(config.training.instanceCount, 4);
  t.is(config.training.customersPerInstance, 2000);
  t.true(config.training.spot);
  t.is(config.training.maxRuntimeSeconds, 7200);
  t.deepEqual(config.training.hyperparameters, { holdout_days: '28', seasonality_mode: 'additive', weekly_seasonality: 'true' });
  t.is(config.scheduleTimezone, 'Europe/Paris');
  t.is(config.scheduledTime?.toUTC().toISO(), '2026-11-26T01:00:00.000Z');
});

test('all problems are reported at once, each naming its variable', (t) => {
  const error = t.throws(
    () =>
      readPipelineConfig({
        ...minimal,
        [PIPELINE_ENV.bucket]: 'Not_A_Bucket',
        [PIPELINE_ENV.sagemakerRoleArn]: undefined,
        [PIPELINE_ENV.trainingInstanceCount]: 'two',
        [PIPELINE_ENV.trainingCustomersPerInstance]: '0',
        [PIPELINE_ENV.trainingSpot]: 'yes',
        [PIPELINE_ENV.hyperparameters]: '{"growth": {"nested": 1}}',
        [PIPELINE_ENV.scheduleTimezone]: 'Mars/Olympus',
        [PIPELINE_ENV.scheduledTime]: 'tomorrow',
        [PIPELINE_ENV.jobNamePrefix]: 'a'.repeat(40),
      }),
    { instanceOf: PipelineConfigError },
  );
  t.is(error.problems.length, 9);
  t.regex(error.message, /FORECAST_BUCKET is "Not_A_Bucket"; expected an S3 bucket name/);
  t.regex(error.message, /FORECAST_SAGEMAKER_ROLE_ARN is not set/);
  t.regex(error.message, /FORECAST_TRAINING_INSTANCE_COUNT is "two"; expected an integer from 1 to 100/);
  t.regex(error.message, /FORECAST_TRAINING_CUSTOMERS_PER_INSTANCE is "0"; expected an integer from 1 to 1000000/);
  t.regex(error.message, /FORECAST_TRAINING_SPOT is "yes"; expected true or false/);
  t.regex(error.message, /FORECAST_HYPERPARAMETERS\.growth is \{"nested":1\}/);
  t.regex(error.message, /FORECAST_SCHEDULE_TIMEZONE is "Mars\/Olympus"/);
  t.regex(error.message, /FORECAST_SCHEDULED_TIME is "tomorrow"/);
  t.regex(error.message, /FORECAST_JOB_NAME_PREFIX .* at most 36 characters/);
});

test('hyperparameters beyond SageMaker limits are refused', (t) => {
  const long = JSON.stringify({ growth: 'x'.repeat(257) });
  t.throws(() => readPipelineConfig({ ...minimal, [PIPELINE_ENV.hyperparameters]: long }), { message: /FORECAST_HYPERPARAMETERS\.growth has 257 characters/ });
  t.throws(() => readPipelineConfig({ ...minimal, [PIPELINE_ENV.hyperparameters]: '{"holdout_dayz":"7"}' }), {
    message: /FORECAST_HYPERPARAMETERS\.holdout_dayz is not a hyperparameter of the training container; expected any of holdout_days,/,
  });
  const many = JSON.stringify(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, '1'])));
  t.throws(() => readPipelineConfig({ ...minimal, [PIPELINE_ENV.hyperparameters]: many }), { message: /has 100 hyperparameters; SageMaker allows at most 100, one of them the pipeline's run_id/ });
  t.throws(() => readPipelineConfig({ ...minimal, [PIPELINE_ENV.hyperparameters]: '{"run_id":"x"}' }), { message: /run_id is set; the pipeline sets it/ });
  t.throws(() => readPipelineConfig({ ...minimal, [PIPELINE_ENV.hyperparameters]: '[1]' }), { message: /expected a JSON object/ });
});

test('processing runs on one instance', (t) => {
  t.throws(() => readPipelineConfig({ ...minimal, [PIPELINE_ENV.processingInstanceCount]: '2' }), {
    message: /FORECAST_PROCESSING_INSTANCE_COUNT is "2"; expected 1/,
  });
});

test('metrics settings: namespace, stack dimension and the local folder, each checked', (t) => {
  const defaults = readPipelineConfig(minimal).metrics;
  t.deepEqual(defaults, { namespace: 'ForecastFleet', stack: 'local', directory: undefined });
  const set = readPipelineConfig({
    ...minimal,
    [PIPELINE_ENV.metricsNamespace]: 'Energy/Forecasts',
    [PIPELINE_ENV.metricsStack]: 'prod',
    [PIPELINE_ENV.metricsDir]: '/var/forecast/metrics',
  }).metrics;
  t.deepEqual(set, { namespace: 'Energy/Forecasts', stack: 'prod', directory: '/var/forecast/metrics' });
  const error = t.throws(
    () =>
      readPipelineConfig({
        ...minimal,
        [PIPELINE_ENV.metricsNamespace]: 'AWS/SageMaker',
        [PIPELINE_ENV.metricsStack]: 'two words',
        [PIPELINE_ENV.metricsDir]: 'relative/metrics',
      }),
    { instanceOf: PipelineConfigError },
  );
  t.is(error.problems.length, 3);
  t.regex(error.message, /FORECAST_METRICS_NAMESPACE is "AWS\/SageMaker"; expected a CloudWatch namespace/);
  t.regex(error.message, /FORECAST_METRICS_STACK is "two words"; expected a stack name/);
  t.regex(error.message, /FORECAST_METRICS_DIR is "relative\/metrics"; expected an absolute folder path/);
});
