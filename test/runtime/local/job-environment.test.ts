import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { CreateModelCommand, CreateProcessingJobCommand, CreateTrainingJobCommand, ListTrainingJobsCommand, ListProcessingJobsCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { LOCAL_IMAGES } from '../../../runtime/local/images.js';
import { environmentKeyProblem } from '../../../runtime/local/sagemaker/job-environment.js';
import { InstanceProcess } from '../../../runtime/local/sagemaker/instance-process.js';
import { ROLE_ARN, startLocal } from './local-aws-fixture.js';

test('Environment keys that change how Node or the loaders run are refused; ordinary ones pass', (t) => {
  for (const key of ['NODE_OPTIONS', 'node_options', 'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'PATH', 'Path', 'TSX_TSCONFIG_PATH', 'UV_THREADPOOL_SIZE', 'SAGEMAKER_BASE_DIR', 'BASH_ENV', 'HOME', 'TMPDIR']) {
    t.regex(environmentKeyProblem(key) ?? '', new RegExp(`'${key}' is refused`), key);
  }
  for (const key of ['a-b', '1X', 'A B', '']) t.regex(environmentKeyProblem(key) ?? '', /must satisfy regular expression pattern/, JSON.stringify(key));
  for (const key of ['FORECAST_WORKERS', 'AWS_REGION', 'TRAINING_WORKERS', 'MY_NODE', '_X']) t.is(environmentKeyProblem(key), undefined, key);
});

test('CreateTrainingJob, CreateProcessingJob and CreateModel refuse a loader variable with a ValidationException naming it, and create nothing', async (t) => {
  const { sagemaker } = await startLocal(t);
  const training = sagemaker.send(
    new CreateTrainingJobCommand({
      TrainingJobName: 'env-train',
      RoleArn: ROLE_ARN,
      AlgorithmSpecification: { TrainingImage: LOCAL_IMAGES.training, TrainingInputMode: 'File' },
      OutputDataConfig: { S3OutputPath: 's3://b/out' },
      ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
      Environment: { NODE_OPTIONS: '--require /tmp/evil.js', FORECAST_OK: '1' },
    }),
  );
  const trainingError = await t.throwsAsync(training);
  t.is(trainingError?.name, 'ValidationException');
  t.regex(trainingError?.message ?? '', /'NODE_OPTIONS' is refused/);

  const processing = sagemaker.send(
    new CreateProcessingJobCommand({
      ProcessingJobName: 'env-process',
      RoleArn: ROLE_ARN,
      AppSpecification: { ImageUri: LOCAL_IMAGES.processing },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.c5.xlarge', VolumeSizeInGB: 10 } },
      Environment: { LD_PRELOAD: '/tmp/evil.so' },
    }),
  );
  t.regex((await t.throwsAsync(processing))?.message ?? '', /'LD_PRELOAD' is refused/);

  const model = sagemaker.send(
    new CreateModelCommand({
      ModelName: 'env-model',
      ExecutionRoleArn: ROLE_ARN,
      PrimaryContainer: { Image: LOCAL_IMAGES.inference, Mode: 'MultiModel', ModelDataUrl: 's3://b/models/', Environment: { PATH: '/tmp/evil' } },
    }),
  );
  t.regex((await t.throwsAsync(model))?.message ?? '', /'PATH' is refused/);

  t.deepEqual((await sagemaker.send(new ListTrainingJobsCommand({}))).TrainingJobSummaries, []);
  t.deepEqual((await sagemaker.send(new ListProcessingJobsCommand({}))).ProcessingJobSummaries, []);
  await t.throwsAsync(sagemaker.send(new DescribeModelCommand({ ModelName: 'env-model' })), { message: /Could not find model/ });
});

test("a local job process gets an explicit environment: none of the server's variables beyond the kept ones, no refused request keys", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'i9-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  process.env.I9_SERVER_SECRET = 'server-only';
  t.teardown(() => delete process.env.I9_SERVER_SECRET);
  const lines: string[] = [];
  const instance = new InstanceProcess({
    job: 'env',
    host: 'algo-1',
    command: { command: process.execPath, args: ['-e', 'console.log(JSON.stringify(process.env))'], cwd: dir },
    requestEnv: { FORECAST_OK: 'yes', NODE_OPTIONS: '--require /tmp/evil.js', SAGEMAKER_BASE_DIR: '/' },
    env: { SAGEMAKER_BASE_DIR: dir },
    pidFile: path.join(dir, 'pid'),
    log: (line) => lines.push(line),
  });
  t.is((await instance.exited).code, 0, lines.join('\n'));
  const env = JSON.parse(lines[0]?.replace(/^\[env\/algo-1\] /, '') ?? '{}') as Record<string, string>;
  t.is(env.FORECAST_OK, 'yes');
  t.is(env.SAGEMAKER_BASE_DIR, dir);
  t.is(env.NODE_OPTIONS, undefined);
  t.is(env.I9_SERVER_SECRET, undefined);
  t.deepEqual(Object.keys(env).filter((k) => !['FORECAST_OK', 'SAGEMAKER_BASE_DIR', 'PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT'].includes(k)), []);
});
