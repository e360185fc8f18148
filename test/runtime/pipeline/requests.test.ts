import test from 'ava';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { readPipelineConfig } from '../../../runtime/config/pipeline-config.js';
import { buildProcessingJobRequest, buildTrainingChannelManifest, buildTrainingJobRequest } from '../../../runtime/pipeline/requests.js';
import { SAGEMAKER_NAME_PATTERN as JOB_NAME_PATTERN } from '../../../runtime/config/sagemaker-limits.js';

const env = {
  [PIPELINE_ENV.bucket]: 'forecast-dev',
  [PIPELINE_ENV.sagemakerRoleArn]: 'arn:aws:iam::123456789012:role/forecast-sagemaker',
  [PIPELINE_ENV.processingImage]: '123456789012.dkr.ecr.us-east-1.amazonaws.com/processing@sha256:aa',
  [PIPELINE_ENV.trainingImage]: '123456789012.dkr.ecr.us-east-1.amazonaws.com/training@sha256:bb',
  [PIPELINE_ENV.endpointName]: 'forecast-dev',
  [PIPELINE_ENV.trainingInstanceCount]: '3',
  [PIPELINE_ENV.hyperparameters]: '{"holdout_days":"28"}',
};
const runId = '20261126-0200';

test('processing reads the raw prefix and writes customer data and its report under the run', (t) => {
  const request = buildProcessingJobRequest(readPipelineConfig(env), runId);
  t.is(request.ProcessingJobName, 'forecast-20261126-0200-process');
  t.regex(request.ProcessingJobName ?? '', JOB_NAME_PATTERN);
  t.is(request.RoleArn, 'arn:aws:iam::123456789012:role/forecast-sagemaker');
  t.deepEqual(request.AppSpecification, { ImageUri: env[PIPELINE_ENV.processingImage], ContainerArguments: ['process'] });
  t.deepEqual(request.ProcessingResources?.ClusterConfig, { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 30 });
  t.deepEqual(request.ProcessingInputs, [
    {
      InputName: 'raw',
      S3Input: {
        S3Uri: 's3://forecast-dev/raw/',
        LocalPath: '/opt/ml/processing/input/raw',
        S3DataType: 'S3Prefix',
        S3InputMode: 'File',
        S3DataDistributionType: 'FullyReplicated',
      },
    },
  ]);
  const outputs = request.ProcessingOutputConfig?.Outputs ?? [];
  t.deepEqual(
    outputs.map((o) => [o.S3Output?.LocalPath, o.S3Output?.S3Uri]),
    [
      ['/opt/ml/processing/output/customer-data', 's3://forecast-dev/runs/20261126-0200/customer-data/'],
      ['/opt/ml/processing/output/report', 's3://forecast-dev/runs/20261126-0200/processing-report/'],
    ],
  );
  for (const output of outputs) t.true(output.S3Output?.LocalPath?.startsWith('/opt/ml/processing/'));
  t.true((request.StoppingCondition?.MaxRuntimeInSeconds ?? 0) <= 777600);
  t.is(buildProcessingJobRequest(readPipelineConfig(env), runId, 3).ProcessingJobName, 'forecast-20261126-0200-process-r3');
});

test('training shards the customers listed in the run channel manifest over N instances and checkpoints models under models/<runId>/', (t) => {
  const request = buildTrainingJobRequest(readPipelineConfig(env), runId);
  t.is(request.TrainingJobName, 'forecast-20261126-0200-train');
  t.deepEqual(request.AlgorithmSpecification, { TrainingImage: env[PIPELINE_ENV.trainingImage], TrainingInputMode: 'File' });
  t.deepEqual(request.InputDataConfig?.[0]?.DataSource?.S3DataSource, {
    S3DataType: 'ManifestFile',
    S3Uri: 's3://forecast-dev/runs/20261126-0200/training-channel.json',
    S3DataDistributionType: 'ShardedByS3Key',
  });
  t.deepEqual(buildTrainingChannelManifest('forecast-dev', runId, ['3', '17']), [
    { prefix: 's3://forecast-dev/runs/20261126-0200/customer-data/' },
    '3.csv',
    '17.csv',
  ]);
  t.throws(() => buildTrainingChannelManifest('forecast-dev', runId, []), { message: /lists no customer/ });
  t.is(request.InputDataConfig?.[0]?.ChannelName, 'train');
  t.is(request.ResourceConfig?.InstanceCount, 3);
  const config = readPipelineConfig(env);
  const instancesFor = (customers: number, perInstance?: string) =>
    buildTrainingJobRequest(perInstance === undefined ? config : readPipelineConfig({ ...env, [PIPELINE_ENV.trainingCustomersPerInstance]: perInstance }), runId, 1, customers)
      .ResourceConfig?.InstanceCount;
  t.is(instancesFor(20), 1, 'a night of a few customers starts one instance, not the configured three');
  t.is(instancesFor(1000), 2);
  t.is(instancesFor(5000), 3);
  t.is(instancesFor(2, '1'), 2, 'no instance is left without a customer');
  t.is(instancesFor(6, '2'), 3);
  t.deepEqual(request.CheckpointConfig, { S3Uri: 's3://forecast-dev/models/20261126-0200/', LocalPath: '/opt/ml/checkpoints' });
  t.is(request.OutputDataConfig?.S3OutputPath, 's3://forecast-dev/runs/20261126-0200/training-output/');
  t.deepEqual(request.HyperParameters, { holdout_days: '28', run_id: runId });
  t.false(request.EnableManagedSpotTraining);
  t.deepEqual(request.StoppingCondition, { MaxRuntimeInSeconds: 14400 });
});

test('managed spot waits at least as long as it may run', (t) => {
  const config = readPipelineConfig({ ...env, [PIPELINE_ENV.trainingSpot]: 'true', [PIPELINE_ENV.trainingMaxRuntimeSeconds]: '3600' });
  const request = buildTrainingJobRequest(config, runId, 2);
  t.is(request.TrainingJobName, 'forecast-20261126-0200-train-r2');
  t.true(request.EnableManagedSpotTraining);
  const { MaxRuntimeInSeconds = 0, MaxWaitTimeInSeconds = 0 } = request.StoppingCondition ?? {};
  t.is(MaxRuntimeInSeconds, 3600);
  t.true(MaxWaitTimeInSeconds >= MaxRuntimeInSeconds);
  const longest = readPipelineConfig({ ...env, [PIPELINE_ENV.trainingSpot]: 'true', [PIPELINE_ENV.trainingMaxRuntimeSeconds]: String(28 * 86400) });
  t.is(buildTrainingJobRequest(longest, runId).StoppingCondition?.MaxWaitTimeInSeconds, 28 * 86400);
});

test('builders refuse requests SageMaker would reject', (t) => {
  const config = readPipelineConfig(env);
  const badHyperparameters = { ...config, training: { ...config.training, hyperparameters: { k: 'x'.repeat(300) } } };
  t.throws(() => buildTrainingJobRequest(badHyperparameters, runId), { message: /HyperParameters\.k\] has a 1-character key and a 300-character value/ });
  const badRuntime = { ...config, training: { ...config.training, maxRuntimeSeconds: 0 } };
  t.throws(() => buildTrainingJobRequest(badRuntime, runId), { message: /MaxRuntimeInSeconds\] is 0/ });
  t.throws(() => buildTrainingJobRequest(config, 'run id with spaces'), { message: /does not match SageMaker/ });
});
