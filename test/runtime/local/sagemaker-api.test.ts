import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  ListProcessingJobsCommand,
  ListTrainingJobsCommand,
  ResourceInUse,
  ResourceLimitExceeded,
  StopTrainingJobCommand,
  type CreateProcessingJobCommandInput,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { datasetChunks } from '../../../runtime/dataset/generator.js';
import { LOCAL_IMAGES } from '../../../runtime/local/images.js';
import { distributeKeys, relativeKey } from '../../../runtime/local/sagemaker/data-distribution.js';
import { putCustomerFiles, ROLE_ARN, sdkClients, startLocal, waitFor } from './local-aws-fixture.js';

const BUCKET = 'forecast-api';

function processingRequest(name: string, instances: number, image: string = LOCAL_IMAGES.processing): CreateProcessingJobCommandInput {
  return {
    ProcessingJobName: name,
    RoleArn: ROLE_ARN,
    AppSpecification: { ImageUri: image },
    ProcessingResources: { ClusterConfig: { InstanceCount: instances, InstanceType: 'ml.c5.xlarge', VolumeSizeInGB: 10 } },
    ProcessingInputs: [
      { InputName: 'raw', S3Input: { S3Uri: `s3://${BUCKET}/raw/`, LocalPath: '/opt/ml/processing/input/raw', S3DataType: 'S3Prefix', S3InputMode: 'File', S3DataDistributionType: 'FullyReplicated' } },
    ],
    ProcessingOutputConfig: {
      Outputs: [
        { OutputName: 'customer-data', S3Output: { S3Uri: `s3://${BUCKET}/runs/p/customer-data`, LocalPath: '/opt/ml/processing/output/customer-data', S3UploadMode: 'EndOfJob' } },
        { OutputName: 'report', S3Output: { S3Uri: `s3://${BUCKET}/runs/p/processing-report`, LocalPath: '/opt/ml/processing/output/report', S3UploadMode: 'EndOfJob' } },
      ],
    },
    StoppingCondition: { MaxRuntimeInSeconds: 300 },
  };
}

function trainingRequest(name: string, extra: Partial<CreateTrainingJobCommandInput> = {}): CreateTrainingJobCommandInput {
  return {
    TrainingJobName: name,
    RoleArn: ROLE_ARN,
    AlgorithmSpecification: { TrainingImage: LOCAL_IMAGES.training, TrainingInputMode: 'File' },
    HyperParameters: { workers: '1' },
    InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/runs/t/customer-data/`, S3DataDistributionType: 'ShardedByS3Key' } } }],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/out` },
    ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    ...extra,
  };
}

test('ShardedByS3Key deals S3-ordered keys round-robin: disjoint, complete, balanced; FullyReplicated copies all', (t) => {
  const keys = Array.from({ length: 1003 }, (_, i) => `runs/r/customer-data/${i}.csv`);
  for (const count of [1, 2, 3, 7]) {
    const hosts = Array.from({ length: count }, (_, i) => `algo-${i + 1}`).sort();
    const shards = [...distributeKeys(keys, hosts, 'ShardedByS3Key').values()];
    const all = shards.flat();
    t.is(new Set(all).size, all.length, `disjoint over ${count} hosts`);
    t.deepEqual([...all].sort(), [...keys].sort(), `complete over ${count} hosts`);
    const sizes = shards.map((s) => s.length);
    t.true(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced over ${count} hosts: ${sizes.join(', ')}`);
    t.deepEqual(distributeKeys([...keys].reverse(), hosts, 'ShardedByS3Key'), distributeKeys(keys, hosts, 'ShardedByS3Key'), 'independent of listing order');
  }
  const replicated = distributeKeys(keys.slice(0, 5), ['algo-1', 'algo-2'], 'FullyReplicated');
  t.deepEqual(replicated.get('algo-1'), replicated.get('algo-2'));
  t.is(relativeKey('runs/r/customer-data/', 'runs/r/customer-data/42.csv'), '42.csv');
  t.is(relativeKey('runs/r/customer-data', 'runs/r/customer-data/42.csv'), 'customer-data/42.csv');
});

test('requests are validated and missing or duplicate resources answer as AWS does', async (t) => {
  const { sagemaker } = await startLocal(t, { maxInstancesPerJob: 4 });
  const missing = await t.throwsAsync(sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'never-created' })));
  t.is(missing?.name, 'ValidationException');
  t.is(missing?.message, 'Requested resource not found.');

  const badName = await t.throwsAsync(sagemaker.send(new CreateTrainingJobCommand(trainingRequest('bad_name'))));
  t.is(badName?.name, 'ValidationException');
  t.is(badName?.message, "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");

  const incomplete = await t.throwsAsync(
    sagemaker.send(new CreateTrainingJobCommand({ ...trainingRequest('incomplete'), RoleArn: undefined, StoppingCondition: { MaxRuntimeInSeconds: 0 } } as unknown as CreateTrainingJobCommandInput)),
  );
  t.regex(incomplete?.message ?? '', /^2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value '0' at 'stoppingCondition.maxRuntimeInSeconds'/);

  const spot = await t.throwsAsync(sagemaker.send(new CreateTrainingJobCommand(trainingRequest('spot-no-wait', { EnableManagedSpotTraining: true }))));
  t.regex(spot?.message ?? '', /MaxWaitTimeInSeconds/);

  await t.throwsAsync(sagemaker.send(new CreateTrainingJobCommand(trainingRequest('too-big', { ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 5, VolumeSizeInGB: 10 } }))), {
    instanceOf: ResourceLimitExceeded,
  });

  // No bucket under the channel: the job is accepted, then fails with a reason naming the prefix.
  await sagemaker.send(new CreateTrainingJobCommand(trainingRequest('no-data')));
  await t.throwsAsync(sagemaker.send(new CreateTrainingJobCommand(trainingRequest('no-data'))), { instanceOf: ResourceInUse });
  const failed = await waitFor(() => sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'no-data' })), (j) => j.TrainingJobStatus === 'Failed', 20_000, 'no-data to fail');
  t.regex(failed.FailureReason ?? '', /runs\/t\/customer-data\//);
  const stopFinished = await t.throwsAsync(sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: 'no-data' })));
  t.is(stopFinished?.message, 'The request was rejected because the training job is in status Failed.');

  const missingProcessing = await t.throwsAsync(sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'never-created' })));
  t.is(missingProcessing?.name, 'ValidationException');

  const outsideProcessing = await t.throwsAsync(
    sagemaker.send(
      new CreateProcessingJobCommand({
        ...processingRequest('bad-path', 1),
        ProcessingInputs: [{ InputName: 'raw', S3Input: { S3Uri: `s3://${BUCKET}/raw/`, LocalPath: '/tmp/raw', S3DataType: 'S3Prefix' } }],
      }),
    ),
  );
  t.regex(outsideProcessing?.message ?? '', /LocalPath \/tmp\/raw of input raw must start with \/opt\/ml\/processing\//);
});

test('a processing job runs the real container per instance, uploads its outputs, and an unknown image fails with a clear reason; state survives a restart', async (t) => {
  const local = await startLocal(t);
  await putCustomerFiles(local.s3, BUCKET, 'unused/', 1);
  const raw = [...datasetChunks({ customers: 4, days: 30, weekly: 0, noise: 0, seed: 3, order: 'time' })].join('');
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/energy.csv', Body: raw }));

  await local.sagemaker.send(new CreateProcessingJobCommand(processingRequest('process-a', 2)));
  await local.sagemaker.send(new CreateProcessingJobCommand(processingRequest('process-bad-image', 1, 'forecast-fleet/unknown:latest')));
  const done = await waitFor(() => local.sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'process-a' })), (j) => j.ProcessingJobStatus !== 'InProgress', 60_000, 'process-a');
  t.is(done.ProcessingJobStatus, 'Completed', done.FailureReason);
  t.true(done.ProcessingEndTime instanceof Date);
  const outputs = await local.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'runs/p/customer-data/' }));
  t.deepEqual(outputs.Contents?.map((o) => o.Key).sort(), ['0', '1', '2', '3'].map((id) => `runs/p/customer-data/${id}.csv`));
  const config = JSON.parse(await readFile(path.join(local.dataDir, 'jobs', 'process-a', 'algo-2', 'config', 'processingjobconfig.json'), 'utf8'));
  t.is(config.ProcessingJobArn, done.ProcessingJobArn);
  t.is(config.ProcessingInputs[0].S3Input.S3DownloadMode, 'StartOfJob');
  const csv = await local.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'runs/p/customer-data/2.csv' }));
  t.regex(await csv.Body!.transformToString(), /^timestamp,consumption\n/);

  const bad = await waitFor(() => local.sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'process-bad-image' })), (j) => j.ProcessingJobStatus !== 'InProgress', 10_000, 'bad image');
  t.is(bad.ProcessingJobStatus, 'Failed');
  t.regex(bad.FailureReason ?? '', /^ClientError: image "forecast-fleet\/unknown:latest" is not available in local mode/);

  const listed = await local.sagemaker.send(new ListProcessingJobsCommand({ NameContains: 'PROCESS-', SortBy: 'Name', SortOrder: 'Descending', MaxResults: 1 }));
  t.deepEqual(listed.ProcessingJobSummaries?.map((s) => s.ProcessingJobName), ['process-bad-image']);
  const next = await local.sagemaker.send(new ListProcessingJobsCommand({ NameContains: 'PROCESS-', SortBy: 'Name', SortOrder: 'Descending', MaxResults: 1, NextToken: listed.NextToken }));
  t.deepEqual(next.ProcessingJobSummaries?.map((s) => s.ProcessingJobName), ['process-a']);
  t.is(next.NextToken, undefined);

  // A restarted server over the same data folder still describes yesterday's jobs.
  await local.aws.close();
  const again = await startLocal(t, {}, local.dataDir);
  const described = await again.sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'process-a' }));
  t.is(described.ProcessingJobStatus, 'Completed');
  t.is(described.CreationTime?.getTime(), done.CreationTime?.getTime());
  const training = await again.sagemaker.send(new ListTrainingJobsCommand({}));
  t.deepEqual(training.TrainingJobSummaries, []);
});

test('a stopped training job is signalled, uploads what it has and ends Stopped', async (t) => {
  const local = await startLocal(t);
  await putCustomerFiles(local.s3, BUCKET, 'runs/t/customer-data/', 40, 365);
  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('to-stop', { CheckpointConfig: { S3Uri: `s3://${BUCKET}/models/t/` } })));
  await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'to-stop' })), (j) => j.SecondaryStatus === 'Training', 30_000, 'training to start');
  await local.sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: 'to-stop' }));
  const stopping = await local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'to-stop' }));
  t.is(stopping.TrainingJobStatus, 'Stopping');
  const stopped = await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'to-stop' })), (j) => j.TrainingJobStatus === 'Stopped', 30_000, 'the stop');
  t.is(stopped.SecondaryStatus, 'Stopped');
  t.deepEqual(stopped.SecondaryStatusTransitions?.map((s) => s.Status).slice(-3), ['Stopping', 'Uploading', 'Stopped']);
  t.truthy(stopped.ModelArtifacts?.S3ModelArtifacts);
});

test('any credentials are accepted, as with LocalStack', async (t) => {
  const local = await startLocal(t);
  await putCustomerFiles(local.s3, BUCKET, 'a/', 1);
  const { s3 } = sdkClients(local.aws.endpointUrl);
  t.teardown(() => s3.destroy());
  s3.config.credentials = async () => ({ accessKeyId: 'AKIAANYTHING', secretAccessKey: 'whatever' });
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'a/' }));
  t.is(listed.KeyCount, 1);
});

test("the container's output/failure becomes FailureReason, MaxRuntimeInSeconds stops a job as MaxRuntimeExceeded, a shutdown fails a running job", async (t) => {
  const local = await startLocal(t);
  await putCustomerFiles(local.s3, BUCKET, 'runs/t/customer-data/', 30, 365);
  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('bad-hyperparameter', { HyperParameters: { no_such_setting: '1' } })));
  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('too-slow', { StoppingCondition: { MaxRuntimeInSeconds: 1 } })));
  const bad = await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'bad-hyperparameter' })), (j) => j.TrainingJobStatus === 'Failed', 30_000, 'the bad job');
  const failureFile = await readFile(path.join(local.dataDir, 'jobs', 'bad-hyperparameter', 'algo-1', 'output', 'failure'), 'utf8');
  t.is(bad.FailureReason, failureFile.slice(0, 1024));
  t.regex(bad.FailureReason ?? '', /no_such_setting/);

  const slow = await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'too-slow' })), (j) => j.TrainingJobStatus === 'Stopped', 30_000, 'the slow job');
  t.is(slow.SecondaryStatus, 'MaxRuntimeExceeded');

  // Shutting the server down kills a running job's processes; the restarted server reports it failed.
  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('interrupted')));
  await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'interrupted' })), (j) => j.SecondaryStatus === 'Training', 30_000, 'training to start');
  const pidFile = path.join(local.dataDir, 'jobs', 'interrupted', 'algo-1.pid');
  const pid = Number(await waitFor(() => readFile(pidFile, 'utf8').catch(() => ''), (text) => text !== '', 10_000, 'the instance pid file'));
  for (const client of [local.s3, local.sagemaker, local.runtime]) client.destroy();
  await local.aws.close();
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the instance process is gone');
  const again = await startLocal(t, {}, local.dataDir);
  const interrupted = await again.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'interrupted' }));
  t.is(interrupted.TrainingJobStatus, 'Failed');
  t.is(interrupted.FailureReason, 'InternalServerError: local mode shut down while the job was running');
});
