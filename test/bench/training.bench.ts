/**
 * Training benchmark: the training container (`containers/cli.ts train`, worker threads on every
 * CPU, compiled as local mode and the image run it: container-build.ts) with the default optimizer (exact MAP where it applies), against the same container with
 * `optimizer=stan` and against R prophet 1.0 (Debian's `r-cran-prophet`, `Rscript`) on the same
 * files, in the same run. Two data sets from the generator: the seed's (noise-free) and noisy
 * weekly (weekly 0.1, noise 0.02), 365 days each.
 *
 *   npx tsx test/bench/training.bench.ts [--quick] [--reps 3] [--customers 1000] [--stan 200] [--r 150]
 *
 * Throughput is per CPU-second (the container's own process CPU time, R's `proc.time()` around the
 * fits), so figures stay comparable on a loaded machine: our side includes the holdout fit, its
 * evaluation, the refit and the archive; R's side is one fit. On the noisy files it also compares
 * each model's 60-day forecast with R prophet's (share of the series mean) and both with the truth
 * the generator continues. Without Rscript the R figures are skipped and the notes say so.
 * `--quick`: 60 customers, optimizer=stan on 2 of them, R prophet on 5.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readModelArchive } from '../../containers/shared/model-artifact.js';
import { initProphet, replayModel } from '../../containers/shared/prophet.js';
import type { HostSummary } from '../../containers/training/job.js';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import { containerBuild } from '../../runtime/local/sagemaker/container-build.js';
import { writeTrainingChannel } from '../containers/training-fixture.js';
import { benchOptions, finishBench, repeat } from './harness.js';
import type { Figure } from './harness.js';

const { flags, values } = benchOptions({
  customers: { type: 'string' },
  stan: { type: 'string' },
  r: { type: 'string' },
});
const CUSTOMERS = Number(values.customers ?? (flags.quick ? 60 : 1000));
const STAN_CUSTOMERS = Math.min(CUSTOMERS, Number(values.stan ?? (flags.quick ? 2 : 200)));
const R_CUSTOMERS = Math.min(CUSTOMERS, Number(values.r ?? (flags.quick ? 5 : 150)));
const HORIZON = 60;
const repo = path.resolve(import.meta.dirname, '..', '..');

/** Runs the training container on `channel` in a fresh SageMaker folder; returns its summary. */
async function runContainer(channel: string, hyperparameters: Record<string, string>): Promise<{ summary: HostSummary; base: string }> {
  const base = await mkdtemp(path.join(root, 'run-'));
  await mkdir(path.join(base, 'input', 'data'), { recursive: true });
  await symlink(channel, path.join(base, 'input', 'data', 'train'));
  await mkdir(path.join(base, 'input', 'config'), { recursive: true });
  await writeFile(path.join(base, 'input', 'config', 'hyperparameters.json'), JSON.stringify({ run_id: 'bench', ...hyperparameters }));
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(compiled, 'containers', 'cli.js'), 'train'], { cwd: repo, env: { ...process.env, SAGEMAKER_BASE_DIR: base }, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`the training container exited with ${code} (${base})`);
  const summary = JSON.parse(await readFile(path.join(base, 'model', 'summary-algo-1.json'), 'utf8')) as HostSummary;
  return { summary, base };
}

async function hasRProphet(): Promise<boolean> {
  try {
    // Finds the package without loading it (loading takes seconds; r-prophet.R does it once).
    await promisify(execFile)('Rscript', ['-e', 'quit(status = if (nzchar(system.file(package = "prophet"))) 0 else 1)']);
    return true;
  } catch {
    return false;
  }
}

/** R prophet on `ids`, `reps` times over in one R process: each repetition's fits and CPU seconds. */
async function runR(channel: string, ids: readonly string[], out: string, reps: number): Promise<{ fits: number; cpuSeconds: number }[]> {
  const { stdout } = await promisify(execFile)('Rscript', [path.join(import.meta.dirname, 'r-prophet.R'), channel, ids.join(','), out, String(HORIZON), String(reps)], { maxBuffer: 1 << 22 });
  const lines = stdout.trim().split('\n').filter((line) => line.startsWith('{"fits"'));
  if (lines.length !== reps) throw new Error(`r-prophet.R printed ${lines.length} repetitions, expected ${reps}:\n${stdout.slice(-1000)}`);
  return lines.map((line) => JSON.parse(line) as { fits: number; cpuSeconds: number });
}

/** The generator's values for days 366…365+HORIZON of the given customers (it continues each series). */
function truthAfterHistory(customers: number, dataset: { weekly: number; noise: number }, ids: readonly string[]): Map<string, number[]> {
  const wanted = new Set(ids);
  const rows = new Map<string, number[]>();
  for (const chunk of datasetChunks({ customers, days: 365 + HORIZON, ...dataset, order: 'customer' })) {
    for (const line of chunk.split('\n')) {
      const [id, stamp, value] = line.split(',');
      if (id === undefined || stamp === undefined || !wanted.has(id)) continue;
      rows.set(id, [...(rows.get(id) ?? []), Number(value)]);
    }
  }
  return new Map([...rows].map(([id, y]) => [id, y.slice(365)]));
}

async function readRForecasts(file: string): Promise<Map<string, number[]>> {
  const byId = new Map<string, number[]>();
  for (const line of (await readFile(file, 'utf8')).trim().split('\n').slice(1)) {
    const [id, , yhat] = line.split(',');
    const key = (id as string).replaceAll('"', '');
    byId.set(key, [...(byId.get(key) ?? []), Number(yhat)]);
  }
  return byId;
}

const perCpuSecond = (summary: HostSummary) => 1000 / (summary.timing.cpuMsPerModel ?? Number.NaN);
const figures: Figure[] = [];
const notes: string[] = [];
const withR = await hasRProphet();
if (!withR) notes.push('R prophet skipped: Rscript with library(prophet) not found (apt-get install -y r-cran-prophet)');
await initProphet();
const root = await mkdtemp(path.join(os.tmpdir(), 'training-bench-'));
const compiled = containerBuild(repo);
try {
  for (const [label, dataset] of [
    ['seed data', { weekly: 0, noise: 0 }],
    ['noisy weekly', { weekly: 0.1, noise: 0.02 }],
  ] as const) {
    const dir = path.join(root, label.replace(' ', '-'));
    const ids = await writeTrainingChannel(dir, { customers: CUSTOMERS, ...dataset });
    const channel = path.join(dir, 'input', 'data', 'train');
    const spread = (n: number) => Array.from({ length: n }, (_, i) => ids[Math.floor((i * ids.length) / n)] as string);
    const stanChannel = path.join(root, `${label.replace(' ', '-')}-stan`);
    await mkdir(stanChannel, { recursive: true });
    for (const id of spread(STAN_CUSTOMERS)) await cp(path.join(channel, `${id}.csv`), path.join(stanChannel, `${id}.csv`));
    const rIds = spread(R_CUSTOMERS);

    let lastExact: string | undefined;
    const exact = await repeat(flags.reps, async () => {
      const run = await runContainer(channel, {});
      if (lastExact) await rm(lastExact, { recursive: true, force: true });
      lastExact = run.base;
      return run.summary;
    });
    const stan = await repeat(flags.reps, async () => {
      const run = await runContainer(stanChannel, { optimizer: 'stan' });
      await rm(run.base, { recursive: true, force: true });
      return run.summary;
    });
    const rBaseline = `R prophet, ${label}: fits per CPU-second`;
    figures.push({
      name: `container, ${label}: customers per CPU-second`,
      unit: 'customers/CPU-s',
      samples: exact.map(perCpuSecond),
      better: 'higher',
      ...(withR ? { baseline: rBaseline, target: '≥ 10× R prophet per core' } : {}),
    });
    figures.push({ name: `container, ${label}: customers per second (wall, ${exact[0]?.timing.workers} workers)`, unit: 'customers/s', samples: exact.map((s) => s.timing.modelsPerSecond), better: 'higher' });
    figures.push({ name: `container optimizer=stan, ${label}: customers per CPU-second`, unit: 'customers/CPU-s', samples: stan.map(perCpuSecond), better: 'higher' });
    figures.push({ name: `container, ${label}: failed customers`, unit: 'customers', samples: exact.map((s) => s.customers.failed), better: 'lower' });
    notes.push(`${label}: ${CUSTOMERS} customers × 365 days (compiled container, whole job's CPU: worker start, holdout fit, evaluation, refit, archive); optimizer=stan on ${STAN_CUSTOMERS} of them${withR ? `, R prophet on ${R_CUSTOMERS} (CPU of the fits alone)` : ''}`);
    if (!withR) continue;

    const rOut = path.join(root, `${label.replace(' ', '-')}-r.csv`);
    const r = await runR(channel, rIds, rOut, flags.reps);
    figures.push({ name: rBaseline, unit: 'fits/CPU-s', samples: r.map((x) => x.fits / x.cpuSeconds), better: 'higher' });
    if (dataset.noise === 0 || !lastExact) continue;

    // Forecast parity with R prophet and accuracy against the truth the generator continues.
    const rForecasts = await readRForecasts(rOut);
    const truths = truthAfterHistory(CUSTOMERS, dataset, rIds);
    const gaps: number[] = [];
    let ourError = 0;
    let rError = 0;
    let count = 0;
    for (const id of rIds) {
      const doc = await readModelArchive(path.join(lastExact, 'checkpoints', `${id}.tar.gz`));
      const model = replayModel(doc, { uncertaintySamples: 0 });
      const ours = model.forecast(HORIZON).map((p) => p.yhat);
      model.free();
      const theirs = rForecasts.get(id) ?? [];
      const mean = doc.history.y.reduce((a, b) => a + Math.abs(b), 0) / doc.history.y.length;
      const truth = truths.get(id) ?? [];
      ours.forEach((v, i) => {
        gaps.push(Math.abs(v - (theirs[i] ?? Number.NaN)) / mean);
        ourError += Math.abs(v - (truth[i] as number));
        rError += Math.abs((theirs[i] ?? Number.NaN) - (truth[i] as number));
        count++;
      });
    }
    const worst = Math.max(...gaps);
    const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    // Deterministic on both sides: one value, repeated so every figure has the same reps.
    const same = (v: number) => Array.from({ length: flags.reps }, () => v);
    figures.push({ name: `${label}: 60-day forecast gap to R prophet, worst`, unit: '% of mean', samples: same(100 * worst), better: 'lower', target: '≤ 1%' });
    figures.push({ name: `${label}: 60-day forecast gap to R prophet, mean`, unit: '% of mean', samples: same(100 * meanGap), better: 'lower', target: '≤ 0.1%' });
    figures.push({ name: `${label}: 60-day MAE against the truth, ours`, unit: 'kWh', samples: same(ourError / count), better: 'lower', baseline: `${label}: 60-day MAE against the truth, R prophet` });
    figures.push({ name: `${label}: 60-day MAE against the truth, R prophet`, unit: 'kWh', samples: same(rError / count), better: 'lower' });
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
finishBench(flags, { bench: 'training', figures, notes });
