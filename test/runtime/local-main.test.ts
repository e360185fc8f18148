import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { compiledRunArgs } from '../../runtime/local/sagemaker/container-build.js';
import { parseManifest } from '../../runtime/pipeline/manifest.js';
import { isAlive, recordedPids } from './local-main-helpers.js';

// `npm start` as a user runs it: a child process running the compiled sources (runtime/run-compiled.js), on port 0, with its data in a temp folder. The
// first start trains; a second start on the same folder serves what it published; `--retrain`
// (another night) trains again.
const root = path.resolve(import.meta.dirname, '../..');
const scheduledTime = '2026-11-20T02:00:00Z';
const runId = '20261120-0200';
let dataDir: string;

test.before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'local-main-'));
});

test.after.always(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function startArgs(extra: string[]): string[] {
  return [...compiledRunArgs(root, 'runtime/local/main.ts'), '--port', '0', '--data-dir', dataDir, '--customers', '4', '--instances', '2', ...extra];
}

// Without the tests' own setting that quiets the AWS SDK's Node 20 notice (package.json, ava): a user's shell has none.
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined, FORECAST_SCHEDULED_TIME: scheduledTime };

function sdkConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, forcePathStyle: true };
}

async function trainingJobNames(endpoint: string): Promise<string[]> {
  const sagemaker = new SageMakerClient(sdkConfig(endpoint));
  try {
    const { TrainingJobSummaries } = await sagemaker.send(new ListTrainingJobsCommand({}));
    return (TrainingJobSummaries ?? []).map((job) => job.TrainingJobName ?? '').sort();
  } finally {
    sagemaker.destroy();
  }
}

/** `npm start` serving in a child process: its URL, what it printed until then, and how to stop it. */
async function startServing(t: ExecutionContext, args: string[], childEnv: NodeJS.ProcessEnv) {
  const started = Date.now();
  const child = spawn(process.execPath, startArgs(args), { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /Serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code} before serving:\n${stdout}\n${stderr}`)));
  });
  return {
    url,
    stdout: () => stdout,
    seconds: (Date.now() - started) / 1000,
    stop: async () => {
      child.kill('SIGINT');
      const code = await exited;
      return { code, stderr };
    },
  };
}

test.serial('npm start -- --once on a fresh folder: demo data, a quiet console, logs in the data folder, real intervals', async (t) => {
  t.timeout(300_000, 'a whole pipeline run; slow only on a crowded machine');
  const { stdout, stderr } = await promisify(execFile)(process.execPath, startArgs(['--once']), { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
  t.notRegex(stderr, /NodeVersionSupportWarning/, 'no 8-line AWS SDK notice about Node versions on the console');
  t.regex(stdout, /raw data: wrote the demo data set, the seed's customers with a weekly pattern and noise, \(4 customers × 365 days, 1460 rows/);
  for (const step of ['processing', 'training', 'validation', 'publishing']) t.regex(stdout, new RegExp(`^${step}: done in \\d+\\.\\d s`, 'm'));
  t.regex(stdout, /^bucket {4}s3:\/\/forecast-local$/m);
  t.regex(stdout, /^endpoint {2}forecast-local \(http:\/\/127\.0\.0\.1:\d+\)$/m);
  t.regex(stdout, new RegExp(`^manifest  s3://forecast-local/manifests/current\\.json: run ${runId}, 4 customers \\(published\\)$`, 'm'));
  t.regex(stdout, /^timing {4}processing \d+\.\d s, training \d+\.\d s, validation \d+\.\d s, gate \d+\.\d s, warming \d+\.\d s, publishing \d+\.\d s, cleanup \d+\.\d s; total \d+\.\d s wall$/m);
  t.regex(stdout, new RegExp(`^customer 0, model ${runId}/0\\.tar\\.gz \\(run ${runId}\\), 7 days$`, 'm'));
  t.regex(stdout, /npm run forecast -- --customer 0 --period 7/);
  t.regex(stdout, new RegExp(`aws sagemaker-runtime invoke-endpoint --endpoint-name forecast-local --target-model ${runId}/0\\.tar\\.gz`));
  t.regex(stdout, /export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ AWS_ACCESS_KEY_ID=test/);

  // Quiet: no container JSON, no job or instance lines, no Stan; the console says where they went.
  const logDir = path.join(dataDir, 'logs');
  t.notRegex(stdout, /^\s*(\[[^\]]+\]\s*)?\{"/m, 'no JSON log line on the console');
  t.notRegex(stdout, /Exception thrown/);
  t.notRegex(stdout, /^\s*\[forecast-/m, 'no job or endpoint line on the console');
  t.true(stdout.includes(`logs      ${logDir}${path.sep} `), 'the console names the log folder');
  const logs = await readdir(logDir);
  t.true(logs.includes(`forecast-${runId}-process.log`) && logs.includes(`forecast-${runId}-train.log`) && logs.includes('forecast-local.log'), logs.join(', '));
  t.regex(await readFile(path.join(logDir, `forecast-${runId}-train.log`), 'utf8'), /\[forecast-20261120-0200-train\/algo-1\] \[train algo-1\] succeeded: 4 trained/);
  t.regex(await readFile(path.join(logDir, `forecast-${runId}-process.log`), 'utf8'), /processing: wrote 4 customer files/);
  t.regex(await readFile(path.join(logDir, 'forecast-local.log'), 'utf8'), /\[forecast-local\/model\] \{"time":.*"event":"model-loaded"/);

  // Demo data: every printed interval has width.
  const rows = [...stdout.matchAll(/^\d{4}-\d{2}-\d{2} +([\d.]+) +([\d.]+) +([\d.]+)$/gm)].map((m) => m.slice(1).map(Number) as [number, number, number]);
  t.true(rows.length >= 7, `forecast rows printed:\n${stdout}`);
  for (const [yhat, lower, upper] of rows) t.true(lower < yhat && yhat < upper, `interval ${lower} < ${yhat} < ${upper}`);
});

test.serial('a second npm start serves the published models at once: no training job until --retrain', async (t) => {
  t.timeout(180_000);
  const serving = await startServing(t, [], env);
  t.log(`second start: serving ${serving.seconds.toFixed(1)} s after the process started`);
  const stdout = serving.stdout();
  t.notRegex(stdout, /^(raw data:|run \S+:|processing|training|validation|publishing)/m, 'no pipeline step ran');
  t.regex(stdout, new RegExp(`^manifest  s3://forecast-local/manifests/current\\.json: run ${runId}, 4 customers, published \\S+$`, 'm'));
  t.regex(stdout, /served as published, no retraining \(--retrain retrains now\)/);
  t.regex(stdout, /next pipeline run \d{4}-\d{2}-\d{2}T02:00:00\.000Z \(nightly schedule "0 2 \* \* \*"\), or restart with --retrain/);
  t.deepEqual(await trainingJobNames(serving.url), [`forecast-${runId}-train`], 'the first start created the only training job');

  // The demo data's holdout errors are real errors, not ~0 as on the noise-free seed.
  const s3 = new S3Client(sdkConfig(serving.url));
  const object = await s3.send(new GetObjectCommand({ Bucket: 'forecast-local', Key: 'manifests/current.json' }));
  const manifest = parseManifest(await object.Body!.transformToString());
  s3.destroy();
  for (const [customerId, entry] of Object.entries(manifest.models)) {
    t.true((entry.metrics.mae ?? 0) > 1 && (entry.metrics.wape ?? 0) > 0.001, `customer ${customerId}: holdout MAE ${entry.metrics.mae}, WAPE ${entry.metrics.wape}`);
  }

  const cli = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'runtime/client/cli.ts', '--customer', '3', '--period', '3', '--json'], {
    cwd: root,
    env: { ...process.env, AWS_ENDPOINT_URL: serving.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
  });
  const forecast = JSON.parse(cli.stdout);
  t.is(forecast.targetModel, `${runId}/3.tar.gz`);
  t.is(forecast.forecast.length, 3);

  const pids = await recordedPids(dataDir, (file) => file === 'container.pid');
  t.true(pids.length >= 1, 'the endpoint runs its inference container as a child process');
  const { code, stderr } = await serving.stop();
  t.is(code, 0, stderr);
  t.regex(serving.stdout(), /SIGINT: stopping local mode/);
  for (const pid of pids) t.false(isAlive(pid), `inference container ${pid} stopped`);
});

// --retrain alone trains only customers whose data changed (none here); --retrain-all retrains them all.
test.serial('npm start -- --retrain-all runs the pipeline and retrains before serving, though models are published', async (t) => {
  t.timeout(300_000, 'a whole pipeline run; slow only on a crowded machine');
  const serving = await startServing(t, ['--retrain-all'], { ...env, FORECAST_SCHEDULED_TIME: '2026-11-21T02:00:00Z' });
  t.regex(serving.stdout(), /^training: done in/m);
  t.deepEqual(await trainingJobNames(serving.url), [`forecast-${runId}-train`, 'forecast-20261121-0200-train']);
  t.regex(serving.stdout(), /manifest  s3:\/\/forecast-local\/manifests\/current\.json: run 20261121-0200, 4 customers \(published\)/);
  t.is((await serving.stop()).code, 0);
});

test.serial('bad options exit 2 with the usage', async (t) => {
  const error = await t.throwsAsync(promisify(execFile)(process.execPath, startArgs(['--instances', 'two']), { cwd: root, env }));
  t.is((error as { code?: number }).code, 2);
  t.regex((error as { stderr?: string }).stderr ?? '', /\[--instances\] must be an integer in \[1, 16\], got "two"[\s\S]*Usage: npm start/);
  const data = await t.throwsAsync(promisify(execFile)(process.execPath, startArgs(['--data', 'noisy']), { cwd: root, env }));
  t.is((data as { code?: number }).code, 2);
  t.regex((data as { stderr?: string }).stderr ?? '', /\[--data\] must be one of demo, seed, got "noisy"/);
});
