import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, type CreateTrainingJobCommandInput, type DescribeTrainingJobCommandOutput } from '@aws-sdk/client-sagemaker';
import * as tar from 'tar';
import { LOCAL_IMAGES } from '../../../runtime/local/images.js';
import { listFiles } from '../../../runtime/local/sagemaker/job-support.js';
import { readModelArchive } from '../../../containers/shared/model-artifact.js';
import { putCustomerFiles, ROLE_ARN, startLocal, waitFor } from './local-aws-fixture.js';

const BUCKET = 'forecast-test';
const HYPERPARAMETERS = { workers: '1', holdout_days: '14', run_id: 'r1' };
/**
 * Stan fits take ≈ 0.1 s a customer where the exact solver takes a few milliseconds: slow enough
 * that an instance is reliably still training when the test kills it.
 */
const KILLABLE = { HyperParameters: { ...HYPERPARAMETERS, optimizer: 'stan' } };

function trainingRequest(name: string, instances: number, extra: Partial<CreateTrainingJobCommandInput> = {}): CreateTrainingJobCommandInput {
  return {
    TrainingJobName: name,
    RoleArn: ROLE_ARN,
    AlgorithmSpecification: { TrainingImage: LOCAL_IMAGES.training, TrainingInputMode: 'File' },
    HyperParameters: HYPERPARAMETERS,
    InputDataConfig: [
      {
        ChannelName: 'train',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/runs/r1/customer-data/`, S3DataDistributionType: 'ShardedByS3Key' } },
        ContentType: 'text/csv',
      },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/training-output/` },
    ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: instances, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    CheckpointConfig: { S3Uri: `s3://${BUCKET}/models/r1/`, LocalPath: '/opt/ml/checkpoints' },
    ...extra,
  };
}

const finished = (job: DescribeTrainingJobCommandOutput) => ['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus ?? '');

test('a sharded training job runs one process per instance, uploads checkpoints and model.tar.gz, and reports SageMaker statuses', async (t) => {
  const local = await startLocal(t);
  const customers = await putCustomerFiles(local.s3, BUCKET, 'runs/r1/customer-data/', 5);
  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('train-sharded', 2)));
  const job = await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'train-sharded' })), finished, 90_000, 'the training job');
  t.is(job.TrainingJobStatus, 'Completed', job.FailureReason);
  t.is(job.SecondaryStatus, 'Completed');
  t.deepEqual(
    job.SecondaryStatusTransitions?.map((s) => s.Status),
    ['Starting', 'Downloading', 'Training', 'Uploading', 'Completed'],
  );
  t.true(job.CreationTime instanceof Date);
  t.is(job.ModelArtifacts?.S3ModelArtifacts, `s3://${BUCKET}/training-output/train-sharded/output/model.tar.gz`);

  // ShardedByS3Key: each instance got its own customers, all of them, balanced.
  const shards = await Promise.all(
    ['algo-1', 'algo-2'].map(async (host) => (await readdir(path.join(local.dataDir, 'jobs', 'train-sharded', host, 'input', 'data', 'train'))).sort()),
  );
  const all = shards.flat();
  t.is(new Set(all).size, all.length, 'shards are disjoint');
  t.deepEqual([...all].sort(), customers.map((c) => `${c}.csv`).sort(), 'shards are complete');
  t.true(Math.abs((shards[0]?.length ?? 0) - (shards[1]?.length ?? 0)) <= 1, 'shards are balanced');

  const config = JSON.parse(await readFile(path.join(local.dataDir, 'jobs', 'train-sharded', 'algo-2', 'input', 'config', 'resourceconfig.json'), 'utf8'));
  t.is(config.current_host, 'algo-2');
  t.deepEqual(config.hosts, ['algo-1', 'algo-2']);
  const channels = JSON.parse(await readFile(path.join(local.dataDir, 'jobs', 'train-sharded', 'algo-1', 'input', 'config', 'inputdataconfig.json'), 'utf8'));
  t.is(channels.train.S3DistributionType, 'ShardedByS3Key');

  const checkpoints = await local.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'models/r1/' }));
  t.deepEqual(checkpoints.Contents?.map((o) => o.Key).sort(), customers.map((c) => `models/r1/${c}.tar.gz`).sort());

  const model = await local.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'training-output/train-sharded/output/model.tar.gz' }));
  const archive = path.join(local.dataDir, 'downloaded-model.tar.gz');
  await writeFile(archive, await model.Body!.transformToByteArray());
  const entries: string[] = [];
  await tar.t({ file: archive, onReadEntry: (entry) => entries.push(entry.path) });
  const expected = [
    ...(await listFiles(path.join(local.dataDir, 'jobs', 'train-sharded', 'algo-1', 'model'))),
    ...(await listFiles(path.join(local.dataDir, 'jobs', 'train-sharded', 'algo-2', 'model'))),
  ];
  t.true(expected.length >= 2);
  for (const file of expected) t.true(entries.includes(file), `model.tar.gz holds ${file} from /opt/ml/model`);
  t.true(local.lines.some((line) => line.startsWith('[train-sharded/algo-1]')), 'instance output is streamed to the log with job and host');
});

test('an instance killed midway fails the job as SageMaker reports it, keeps the uploaded checkpoints intact, and a new job resumes from them', async (t) => {
  const local = await startLocal(t);
  const customers = await putCustomerFiles(local.s3, BUCKET, 'runs/r1/customer-data/', 24, 365);
  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('train-killed', 2, KILLABLE)));
  const listCheckpoints = async () => (await local.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'models/r1/' }))).Contents ?? [];
  await waitFor(listCheckpoints, (objects) => objects.length >= 4, 60_000, 'the first checkpoints');
  const pid = Number(await readFile(path.join(local.dataDir, 'jobs', 'train-killed', 'algo-2.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');

  const failed = await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'train-killed' })), finished, 60_000, 'the killed job');
  t.is(failed.TrainingJobStatus, 'Failed');
  t.is(failed.SecondaryStatus, 'Failed');
  t.regex(failed.FailureReason ?? '', /algo-2 was terminated by SIGKILL \(exit code 137\)/);
  t.true(failed.TrainingEndTime instanceof Date);

  const survivors = await listCheckpoints();
  t.true(survivors.length >= 4 && survivors.length < customers.length, `some but not all customers have checkpoints (${survivors.length})`);
  for (const object of survivors) {
    const file = path.join(local.dataDir, 'check.tar.gz');
    const body = await local.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key ?? '' }));
    await writeFile(file, await body.Body!.transformToByteArray());
    const doc = await readModelArchive(file);
    t.is(`models/r1/${doc.customerId}.tar.gz`, object.Key ?? '', 'every uploaded checkpoint is a whole, valid model');
  }

  await local.sagemaker.send(new CreateTrainingJobCommand(trainingRequest('train-resumed', 2, KILLABLE)));
  const resumed = await waitFor(() => local.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'train-resumed' })), finished, 90_000, 'the resumed job');
  t.is(resumed.TrainingJobStatus, 'Completed', resumed.FailureReason);
  t.true(local.lines.some((line) => line.includes(`restored ${survivors.length} checkpoints`)), 'checkpoints were restored into every instance');
  const after = await listCheckpoints();
  t.deepEqual(after.map((o) => o.Key).sort(), customers.map((c) => `models/r1/${c}.tar.gz`).sort());
  const before = new Map(survivors.map((o) => [o.Key, o.ETag]));
  for (const object of after) if (before.has(object.Key)) t.is(object.ETag, before.get(object.Key), `${object.Key} was restored, not retrained`);
});
