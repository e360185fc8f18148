import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { isAlive, recordedPids } from './local-main-helpers.js';

// `npm start` as a user runs it: a child process, on port 0, with its data in a temp folder. Both
// runs use the same scheduled time, so the second one is a rerun of the same night.
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
  return ['--import', 'tsx', 'runtime/local/main.ts', '--port', '0', '--data-dir', dataDir, '--customers', '4', '--instances', '2', ...extra];
}

const env = { ...process.env, FORECAST_SCHEDULED_TIME: scheduledTime };

test.serial('npm start -- --once runs the pipeline and prints what it used, timings, forecasts and how to query', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, startArgs(['--once']), { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
  t.regex(stdout, /raw data: wrote the seed's data set \(4 customers × 365 days, 1460 rows/);
  t.regex(stdout, /processing: forecast-20261120-0200-process Completed/);
  t.regex(stdout, /\[train algo-1\] succeeded/, 'per-instance training progress');
  t.regex(stdout, /\[train algo-2\] succeeded/);
  t.regex(stdout, /training: forecast-20261120-0200-train Completed/);
  t.regex(stdout, /^bucket {4}s3:\/\/forecast-local$/m);
  t.regex(stdout, /^endpoint {2}forecast-local \(http:\/\/127\.0\.0\.1:\d+\)$/m);
  t.regex(stdout, new RegExp(`^manifest  s3://forecast-local/manifests/current\\.json: run ${runId}, 4 customers \\(published\\)$`, 'm'));
  t.regex(stdout, /^timing {4}processing \d+\.\d s, training \d+\.\d s, publishing \d+\.\d s; total \d+\.\d s wall$/m);
  t.regex(stdout, new RegExp(`^customer 0, model ${runId}/0\\.tar\\.gz \\(run ${runId}\\), 7 days$`, 'm'));
  t.regex(stdout, /npm run forecast -- --customer 0 --period 7/);
  t.regex(stdout, new RegExp(`aws sagemaker-runtime invoke-endpoint --endpoint-name forecast-local --target-model ${runId}/0\\.tar\\.gz`));
  t.regex(stdout, /export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ AWS_ACCESS_KEY_ID=test/);
});

test.serial('npm start serves until Ctrl-C: the CLI queries it, and SIGINT stops its children', async (t) => {
  const child = spawn(process.execPath, startArgs([]), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const serving = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /Serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code} before serving:\n${stdout}\n${stderr}`)));
  });
  t.regex(stdout, /raw data: using what is under s3:\/\/forecast-local\/raw\//);
  t.regex(stdout, /processing: forecast-20261120-0200-process already completed: skipped/, 'a rerun of the same night resumes');
  t.regex(stdout, /training: forecast-20261120-0200-train already completed: skipped/);

  const cli = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'runtime/client/cli.ts', '--customer', '3', '--period', '3', '--json'],
    { cwd: root, env: { ...process.env, AWS_ENDPOINT_URL: serving, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' } },
  );
  const forecast = JSON.parse(cli.stdout);
  t.is(forecast.targetModel, `${runId}/3.tar.gz`);
  t.is(forecast.forecast.length, 3);

  const pids = await recordedPids(dataDir, (file) => file === 'container.pid');
  t.true(pids.length >= 1, 'the endpoint runs its inference container as a child process');
  child.kill('SIGINT');
  t.is(await exited, 0, stderr);
  t.regex(stdout, /SIGINT: stopping local mode/);
  for (const pid of pids) t.false(isAlive(pid), `inference container ${pid} stopped`);
});

test.serial('bad options exit 2 with the usage', async (t) => {
  const error = await t.throwsAsync(promisify(execFile)(process.execPath, startArgs(['--instances', 'two']), { cwd: root, env }));
  t.is((error as { code?: number }).code, 2);
  t.regex((error as { stderr?: string }).stderr ?? '', /\[--instances\] must be an integer in \[1, 16\], got "two"[\s\S]*Usage: npm start/);
});
