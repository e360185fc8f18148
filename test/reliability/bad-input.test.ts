import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateTrainingJobCommand, ListTrainingJobsCommand, type CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { parseInvokeBody } from '../../containers/inference/payload.js';
import { RowValidator, DEFAULT_COLUMN_ORDER, QUARANTINE_REASONS, type QuarantineReason } from '../../containers/processing/row.js';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { parseStackConfig } from '../../infra/config.js';
import { readPipelineConfig } from '../../runtime/config/pipeline-config.js';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { LOCAL_IMAGES } from '../../runtime/local/images.js';
import { main as startMain } from '../../runtime/local/main.js';
import { main as forecastMain } from '../../runtime/client/cli.js';
import { main as cleanupMain } from '../../runtime/pipeline/cleanup-cli.js';
import { main as forgetMain } from '../../runtime/pipeline/forget-cli.js';
import { main as rollbackMain } from '../../runtime/pipeline/rollback-cli.js';
import { main as reportMain } from '../../runtime/report/cli.js';
import { ROLE_ARN, startLocal, type LocalAwsFixture } from '../runtime/local/local-aws-fixture.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** One bad input: which interface, what was sent, and what the answer must say. */
interface BadInput {
  readonly surface: string;
  readonly input: string;
  /** Sends the input; resolves with the error text the caller sees (a thrown message, stderr, a reason). */
  readonly attempt: (local: LocalAwsFixture) => Promise<string>;
  readonly expected: RegExp;
}

const errorText = async (work: () => Promise<unknown> | unknown): Promise<string> => {
  try {
    await work();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'accepted';
};

/** A CLI's `main` called in this process, answering with its exit code and what it wrote to stderr. */
const inProcess = (main: (args: readonly string[]) => Promise<number>, args: readonly string[]) => async () => {
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    return `exit ${await main(args)}: ${written.join('')}`;
  } catch (error) {
    return `threw ${(error as Error).message}`;
  } finally {
    process.stderr.write = write;
  }
};

/** A CLI with no exported `main`, run as `npm run <x> -- flags` runs it, answering with its exit code and stderr. */
const cli = (script: string, args: readonly string[]) => async () => {
  try {
    await run(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }, timeout: 100_000 });
    return 'exit 0';
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return `exit ${failed.code}: ${failed.stderr ?? ''}`;
  }
};

const row = (fields: string[]): string => {
  const reason: QuarantineReason | undefined = new RowValidator().validate(fields, DEFAULT_COLUMN_ORDER);
  return reason === undefined ? 'accepted' : `${reason}: ${QUARANTINE_REASONS[reason]}`;
};

function trainingRequest(extra: Partial<CreateTrainingJobCommandInput>): CreateTrainingJobCommandInput {
  return {
    TrainingJobName: 'bad-input',
    RoleArn: ROLE_ARN,
    AlgorithmSpecification: { TrainingImage: LOCAL_IMAGES.training, TrainingInputMode: 'File' },
    OutputDataConfig: { S3OutputPath: 's3://forecast-local/out' },
    ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 60 },
    ...extra,
  };
}

const invoke = (local: LocalAwsFixture, input: { TargetModel?: string; Body: string; EndpointName?: string }) =>
  errorText(() =>
    local.runtime.send(new InvokeEndpointCommand({ EndpointName: input.EndpointName ?? 'forecast-local', TargetModel: input.TargetModel, ContentType: 'application/json', Body: new TextEncoder().encode(input.Body) })),
  );

const BAD_INPUTS: readonly BadInput[] = [
  // The invoke body, as the inference container parses it.
  { surface: 'invoke body', input: '""', attempt: async () => errorText(() => parseInvokeBody('')), expected: /E_BODY_EMPTY|empty/ },
  { surface: 'invoke body', input: 'not json', attempt: async () => errorText(() => parseInvokeBody('not json')), expected: /JSON/ },
  { surface: 'invoke body', input: '{"period": 0}', attempt: async () => errorText(() => parseInvokeBody('{"period": 0}')), expected: /period/ },
  { surface: 'invoke body', input: '{"period": "soon"}', attempt: async () => errorText(() => parseInvokeBody('{"period": "soon"}')), expected: /period/ },
  { surface: 'invoke body', input: '{"period": 100000}', attempt: async () => errorText(() => parseInvokeBody('{"period": 100000}')), expected: /period.*366|366.*period/ },
  { surface: 'invoke body', input: '[7]', attempt: async () => errorText(() => parseInvokeBody('[7]')), expected: /JSON object/ },
  // InvokeEndpoint through the SDK.
  { surface: 'InvokeEndpoint', input: 'no TargetModel', attempt: (l) => invoke(l, { Body: '{"period":7}' }), expected: /ValidationError: .*TargetModel/ },
  { surface: 'InvokeEndpoint', input: 'TargetModel of 1025 characters', attempt: (l) => invoke(l, { TargetModel: 'x'.repeat(1025), Body: '{}' }), expected: /ValidationError: .*'targetModel' failed to satisfy constraint/ },
  { surface: 'InvokeEndpoint', input: 'unknown endpoint', attempt: (l) => invoke(l, { EndpointName: 'nope', TargetModel: 'r/1.tar.gz', Body: '{}' }), expected: /ValidationError: Endpoint nope .*not found/ },
  { surface: 'InvokeEndpoint', input: 'model not in S3', attempt: (l) => invoke(l, { TargetModel: 'r/404.tar.gz', Body: '{"period":7}' }), expected: /ValidationError: Failed to download model data.*models\/r\/404\.tar\.gz/ },
  { surface: 'InvokeEndpoint', input: 'body over 6 MiB', attempt: (l) => invoke(l, { TargetModel: 'r/1.tar.gz', Body: ' '.repeat(6 * 1024 * 1024 + 1) }), expected: /body.*6291456/ },
  // Every CLI's flags.
  { surface: 'npm start', input: '--port 70000', attempt: inProcess(startMain, ['--port', '70000']), expected: /exit 2: start: \[--port\] must be an integer in \[0, 65535\], got "70000"/ },
  { surface: 'npm start', input: '--instances 0', attempt: inProcess(startMain, ['--instances', '0']), expected: /\[--instances\] must be an integer in \[1, 16\]/ },
  { surface: 'npm start', input: '--allow-origin evil', attempt: inProcess(startMain, ['--allow-origin', 'evil']), expected: /\[--allow-origin\] must be an origin/ },
  { surface: 'npm start', input: '--schedule "every day"', attempt: inProcess(startMain, ['--schedule', 'every day']), expected: /exit 2: start: .*every day/ },
  { surface: 'npm run forecast', input: '--period -3', attempt: inProcess((args) => forecastMain(args, { env: {}, stdout: () => undefined, stderr: (text) => process.stderr.write(text) }), ['--customer', '1', '--period', '-3']), expected: /exit 2: forecast: .*period/ },
  { surface: 'npm run forecast', input: 'no --customer', attempt: inProcess((args) => forecastMain(args, { env: {}, stdout: () => undefined, stderr: (text) => process.stderr.write(text) }), ['--period', '7']), expected: /exit 2: forecast: .*customer/ },
  { surface: 'npm run rollback', input: '--previous --list', attempt: inProcess(rollbackMain, ['--previous', '--list']), expected: /exit 2: rollback: give exactly one of --to RUN, --previous/ },
  { surface: 'npm run rollback', input: '--customer 7 without --to', attempt: inProcess(rollbackMain, ['--customer', '7']), expected: /exit 2: rollback: \[--customer\] needs --to RUN/ },
  { surface: 'npm run cleanup', input: '--retention-days 0', attempt: inProcess(cleanupMain, ['--retention-days', '0']), expected: /exit 2: cleanup: \[--retention-days\] must be an integer from 1 to \d+, got "0"/ },
  { surface: 'npm run cleanup', input: '--timezone Mars/Base', attempt: inProcess(cleanupMain, ['--timezone', 'Mars/Base']), expected: /exit 2: cleanup: \[--timezone\] must be an IANA time zone/ },
  { surface: 'npm run forget', input: 'no --customer', attempt: inProcess(forgetMain, ['--dry-run']), expected: /exit 2: forget: \[--customer\] is required/ },
  { surface: 'npm run report', input: '--run yesterday', attempt: inProcess(reportMain, ['--run', 'yesterday']), expected: /exit 2: report: \[--run\] must be a run id such as/ },
  { surface: 'npm run generate', input: '--customers many', attempt: cli('runtime/dataset/cli.ts', ['--customers', 'many']), expected: /customers.*many/ },
  { surface: 'npm run container', input: 'bogus', attempt: cli('containers/cli.ts', ['bogus']), expected: /exit [12]: .*bogus/ },
  { surface: 'npm run policy', input: '--set noequals', attempt: cli('policies/offline/cli.ts', ['--stack', 'dev', '--set', 'noequals']), expected: /\[--set\] expects KEY=VALUE, got "noequals"/ },
  { surface: 'npm run plan', input: '--set noequals', attempt: cli('infra/plan/cli.ts', ['--stack', 'dev', '--set', 'noequals']), expected: /noequals/ },
  // Stack config.
  { surface: 'stack config', input: 'aws:region moon-1', attempt: async () => errorText(() => parseStackConfig('forecast-fleet', {}, 'moon-1')), expected: /\[aws:region\] is "moon-1"/ },
  { surface: 'stack config', input: 'trainingInstanceCount 0', attempt: async () => errorText(() => parseStackConfig('forecast-fleet', { trainingInstanceCount: '0' }, 'eu-west-1')), expected: /trainingInstanceCount/ },
  { surface: 'stack config', input: 'scheduleCron "nope"', attempt: async () => errorText(() => parseStackConfig('forecast-fleet', { scheduleCron: 'nope' }, 'eu-west-1')), expected: /scheduleCron/ },
  { surface: 'stack config', input: 'hyperparameters "[1]"', attempt: async () => errorText(() => parseStackConfig('forecast-fleet', { hyperparameters: '[1]' }, 'eu-west-1')), expected: /hyperparameters/ },
  // Pipeline environment.
  { surface: 'pipeline env', input: 'FORECAST_TRAINING_INSTANCE_COUNT=abc', attempt: async () => errorText(() => readPipelineConfig({ FORECAST_BUCKET: 'b', FORECAST_TRAINING_INSTANCE_COUNT: 'abc' })), expected: /FORECAST_/ },
  // Raw rows.
  { surface: 'raw row', input: '1,2024-01-01', attempt: async () => row(['1', '2024-01-01']), expected: /^column_count/ },
  { surface: 'raw row', input: 'x,2024-01-01,1.5', attempt: async () => row(['x', '2024-01-01', '1.5']), expected: /^customer_id/ },
  { surface: 'raw row', input: '1,2024-13-01,1.5', attempt: async () => row(['1', '2024-13-01', '1.5']), expected: /^timestamp/ },
  { surface: 'raw row', input: '1,2024-01-01,0x10', attempt: async () => row(['1', '2024-01-01', '0x10']), expected: /^consumption_not_a_number/ },
  { surface: 'raw row', input: '1,2024-01-01,Infinity', attempt: async () => row(['1', '2024-01-01', 'Infinity']), expected: /^consumption_not_finite/ },
  { surface: 'raw row', input: '1,2024-01-01,-2', attempt: async () => row(['1', '2024-01-01', '-2']), expected: /^consumption_negative/ },
  // Hyperparameters.
  { surface: 'hyperparameters', input: 'holdout_days=0', attempt: async () => errorText(() => parseHyperparameters({ holdout_days: '0' }, {})), expected: /holdout_days/ },
  { surface: 'hyperparameters', input: 'growth=exponential', attempt: async () => errorText(() => parseHyperparameters({ growth: 'exponential' }, {})), expected: /growth/ },
  { surface: 'hyperparameters', input: 'unknown key', attempt: async () => errorText(() => parseHyperparameters({ holdout_dayz: '3' }, {})), expected: /holdout_dayz/ },
  // S3 keys and buckets.
  { surface: 'S3 key', input: '1025-byte key', attempt: (l) => errorText(() => l.s3.send(new PutObjectCommand({ Bucket: 'forecast-local', Key: 'k'.repeat(1025), Body: 'x' }))), expected: /KeyTooLongError: .*1025 bytes/ },
  { surface: 'S3 bucket', input: 'Bad_Bucket', attempt: (l) => errorText(() => l.s3.send(new CreateBucketCommand({ Bucket: 'Bad_Bucket' }))), expected: /InvalidBucketName/ },
  { surface: 'S3 bucket', input: 'missing bucket', attempt: (l) => errorText(() => l.s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))), expected: /NoSuchBucket/ },
  // SageMaker API requests.
  { surface: 'CreateTrainingJob', input: 'name bad_name', attempt: (l) => errorText(() => l.sagemaker.send(new CreateTrainingJobCommand(trainingRequest({ TrainingJobName: 'bad_name' })))), expected: /ValidationException: .*trainingJobName/ },
  { surface: 'CreateTrainingJob', input: 'Environment NODE_OPTIONS', attempt: (l) => errorText(() => l.sagemaker.send(new CreateTrainingJobCommand(trainingRequest({ Environment: { NODE_OPTIONS: '--require x' } })))), expected: /ValidationException: .*'NODE_OPTIONS' is refused/ },
  { surface: 'CreateTrainingJob', input: 'InstanceCount 0', attempt: (l) => errorText(() => l.sagemaker.send(new CreateTrainingJobCommand(trainingRequest({ ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 0, VolumeSizeInGB: 10 } })))), expected: /ValidationException: .*instanceCount/ },
  { surface: 'CreateEndpoint', input: 'unknown config', attempt: (l) => errorText(() => l.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'e2', EndpointConfigName: 'nope' }))), expected: /ValidationException: .*nope/ },
];

/** Every file under the data folder with its size and modification time: what "nothing changed" means. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const entries = (await readdir(dir, { recursive: true })).map(String).filter((p) => !p.endsWith('.pid') && !p.includes(`${path.sep}models${path.sep}`));
  const files = new Map<string, string>();
  for (const entry of entries) {
    const info = await stat(path.join(dir, entry)).catch(() => undefined);
    if (info?.isFile()) files.set(entry, `${info.size}:${info.mtimeMs}`);
  }
  return files;
}

test('every bad input to every interface is refused with an error naming what was wrong, and nothing stored changes', async (t) => {
  const local = await startLocal(t);
  await provisionLocalStack({ endpointUrl: local.aws.endpointUrl, bucket: 'forecast-local', endpointName: 'forecast-local' });
  await local.s3.send(new PutObjectCommand({ Bucket: 'forecast-local', Key: 'raw/energy.csv', Body: 'customer_id,timestamp,consumption\n1,2024-01-01,1.5\n' }));
  const before = await snapshot(local.dataDir);
  const bySurface = new Map<string, number>();
  // One at a time: the CLI rows patch process.stderr while they run.
  const outcomes: { bad: BadInput; answer: string }[] = [];
  for (const bad of BAD_INPUTS) outcomes.push({ bad, answer: await bad.attempt(local) });
  const mismatches = outcomes.filter(({ bad, answer }) => !bad.expected.test(answer)).map(({ bad, answer }) => `${bad.surface} ← ${bad.input}: ${answer.slice(0, 300)}`);
  t.deepEqual(mismatches, [], 'every bad input gets the error that names it');
  for (const { bad } of outcomes) {
    bySurface.set(bad.surface, (bySurface.get(bad.surface) ?? 0) + 1);
  }
  t.deepEqual(await snapshot(local.dataDir), before, 'no stored file was added, removed or changed');
  t.deepEqual((await local.sagemaker.send(new ListTrainingJobsCommand({}))).TrainingJobSummaries, []);
  t.is((await readFile(path.join(local.dataDir, 's3', 'forecast-local', 'raw', 'energy.csv._S3rver_object'), 'utf8')).split('\n').length, 3);
  t.log(`bad inputs tried: ${BAD_INPUTS.length}, by interface: ${[...bySurface].map(([s, n]) => `${s} ${n}`).join(', ')}`);
});
