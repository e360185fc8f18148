import test from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readModelArchive } from '../../containers/shared/model-artifact.js';
import { sagemakerPaths } from '../../containers/shared/sagemaker-paths.js';
import type { HostSummary } from '../../containers/training/job.js';
import { writeTrainingChannel } from './training-fixture.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const CUSTOMERS = 24;

/** `npm run container -- train`, as the image runs it, on a SageMaker folder. */
function startTraining(base: string): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'containers/cli.ts', 'train'], {
    cwd: repo,
    env: { ...process.env, SAGEMAKER_BASE_DIR: base },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exit, stderr: () => stderr };
}

async function finishedCheckpoints(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.tar.gz')).sort();
}

async function waitForCheckpoints(dir: string, count: number, exit: Promise<unknown>): Promise<void> {
  let exited = false;
  void exit.then(() => (exited = true));
  while (!exited && (await finishedCheckpoints(dir)).length < count) await sleep(20);
  if (exited) throw new Error('the training job ended before it could be interrupted');
}

async function setUp(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'training-restart-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  // Short histories keep each fit quick; Stan fits with small worker lifetimes exercise recycling
  // (exact fits do not count towards customers_per_worker).
  await writeTrainingChannel(base, { customers: CUSTOMERS, days: 120, weekly: 0.1, noise: 0.05 }, { customers_per_worker: '5', holdout_days: '7', optimizer: 'stan' });
  return base;
}

test('a job killed midway resumes: finished customers are not refit, no checkpoint is corrupt', async (t) => {
  t.timeout(240_000, 'two container runs; slow only on a crowded machine');
  const base = await setUp(t);
  const paths = sagemakerPaths(base);
  const first = startTraining(base);
  await waitForCheckpoints(paths.checkpoints, 6, first.exit);
  first.child.kill('SIGKILL');
  t.is((await first.exit).signal, 'SIGKILL');

  const survivors = await finishedCheckpoints(paths.checkpoints);
  t.true(survivors.length >= 6 && survivors.length < CUSTOMERS, `${survivors.length} checkpoints when killed`);
  const before = new Map<string, { mtimeMs: number; ino: number; trainedAt: string }>();
  for (const name of survivors) {
    const file = path.join(paths.checkpoints, name);
    const doc = await readModelArchive(file);
    const { mtimeMs, ino } = await stat(file);
    before.set(name, { mtimeMs, ino, trainedAt: doc.trainedAt });
  }

  const second = startTraining(base);
  t.like(await second.exit, { code: 0 }, second.stderr());
  t.regex(second.stderr(), new RegExp(`${CUSTOMERS} customers, ${survivors.length} resumed from checkpoints`));
  const summary = JSON.parse(await readFile(path.join(paths.model, 'summary-algo-1.json'), 'utf8')) as HostSummary;
  t.deepEqual(summary.customers, { total: CUSTOMERS, trained: CUSTOMERS - survivors.length, resumed: survivors.length, failed: 0, interrupted: 0 });
  const resumed = summary.results.filter((r) => r.status === 'resumed').map((r) => `${r.customerId}.tar.gz`).sort();
  t.deepEqual(resumed, survivors);

  const after = await readdir(paths.checkpoints);
  t.is(after.length, CUSTOMERS, `only finished archives, no temporary files: ${after.join(', ')}`);
  for (const name of after) {
    const file = path.join(paths.checkpoints, name);
    const doc = await readModelArchive(file);
    const old = before.get(name);
    if (old) {
      const { mtimeMs, ino } = await stat(file);
      t.deepEqual({ mtimeMs, ino, trainedAt: doc.trainedAt }, old, `${name} was not refit`);
    }
  }
});

test('SIGTERM stops taking customers, finishes the ones in flight and exits promptly', async (t) => {
  const base = await setUp(t);
  const paths = sagemakerPaths(base);
  const job = startTraining(base);
  await waitForCheckpoints(paths.checkpoints, 3, job.exit);
  const signalled = performance.now();
  job.child.kill('SIGTERM');
  const { code } = await job.exit;
  const seconds = (performance.now() - signalled) / 1000;
  t.is(code, 143, job.stderr());
  t.true(seconds < 10, `exited ${seconds.toFixed(1)} s after SIGTERM`);
  t.regex(job.stderr(), /SIGTERM: finishing the customers in flight/);
  const summary = JSON.parse(await readFile(path.join(paths.model, 'summary-algo-1.json'), 'utf8')) as HostSummary;
  t.is(summary.status, 'interrupted');
  t.true(summary.customers.trained < CUSTOMERS);
  const names = await readdir(paths.checkpoints);
  t.is(names.length, summary.customers.trained, `one complete archive per trained customer: ${names.join(', ')}`);
  for (const name of names) await t.notThrowsAsync(readModelArchive(path.join(paths.checkpoints, name)));
  await t.throwsAsync(readFile(paths.failure), { code: 'ENOENT' }, 'a stopped job is not a failed one');
});

test('checkpoints a host crash can leave (empty, truncated) are retrained, the others resumed', async (t) => {
  t.timeout(240_000, 'two container runs; slow only on a crowded machine');
  const base = await mkdtemp(path.join(os.tmpdir(), 'training-torn-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  await writeTrainingChannel(base, { customers: 6, days: 120, weekly: 0.1, noise: 0.05 }, { holdout_days: '7' });
  const paths = sagemakerPaths(base);
  const first = startTraining(base);
  t.like(await first.exit, { code: 0 }, first.stderr());
  // Archives are renamed into place without fsync: after a host crash a renamed file may hold
  // nothing or only its first blocks.
  const [empty, truncated] = await finishedCheckpoints(paths.checkpoints);
  await truncate(path.join(paths.checkpoints, empty!), 0);
  await truncate(path.join(paths.checkpoints, truncated!), Math.floor((await stat(path.join(paths.checkpoints, truncated!))).size / 2));

  const second = startTraining(base);
  t.like(await second.exit, { code: 0 }, second.stderr());
  t.regex(second.stderr(), new RegExp(`retraining ${empty!.replace('.tar.gz', '')}: its checkpoint cannot be reused`));
  t.regex(second.stderr(), new RegExp(`retraining ${truncated!.replace('.tar.gz', '')}: its checkpoint cannot be reused`));
  const summary = JSON.parse(await readFile(path.join(paths.model, 'summary-algo-1.json'), 'utf8')) as HostSummary;
  t.like(summary.customers, { total: 6, trained: 2, resumed: 4, failed: 0 });
  for (const name of await finishedCheckpoints(paths.checkpoints)) await t.notThrowsAsync(readModelArchive(path.join(paths.checkpoints, name)));
});
