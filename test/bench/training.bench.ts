/**
 * Training benchmark: the training container (`containers/cli.ts train`, worker threads on every
 * CPU, compiled as local mode and the image run it: container-build.js) with the default optimizer (exact MAP where it applies), against the same container with
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
 * the generator continues. R runs once for both data sets, after the containers (library(prophet)
 * loads once). Without Rscript or its prophet package the R figures are skipped and the notes say so.
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
import { compiledContainerArgs } from '../../runtime/local/sagemaker/container-build.js';
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
    const child = spawn(process.execPath, [...containerArgs, 'train'], { cwd: repo, env: { ...process.env, SAGEMAKER_BASE_DIR: base }, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`the training container exited with ${code} (${base})`);
  const summary = JSON.parse(await readFile(path.join(base, 'model', 'summary-algo-1.json'), 'utf8')) as HostSummary;
  return { summary, base };
}

interface RSet {
  channel: string;
  ids: readonly string[];
  /** Where R writes each customer's forecast of the HORIZON days after its history, if wanted. */
  out: string | undefined;
}

/** Why R prophet cannot run here (node's spawn error or r-prophet.R's exit code 3), else undefined. */
function rMissing(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'Rscript not found';
  if (code === 3) return 'R has no prophet package';
  return undefined;
}

/**
 * R prophet on every set, `reps` times over, in one R process (R and library(prophet) load once):
 * per set, each repetition's fits and CPU seconds; undefined when R prophet is not installed.
 */
async function runR(sets: readonly RSet[], reps: number): Promise<{ fits: number; cpuSeconds: number }[][] | undefined> {
  const args = sets.flatMap((set) => [set.channel, set.ids.join(','), set.out ?? '-']);
  let stdout: string;
  try {
    // TZ: without it R asks timedatectl for the zone, which fails in containers and warns.
    ({ stdout } = await promisify(execFile)('Rscript', [path.join(import.meta.dirname, 'r-prophet.R'), String(HORIZON), String(reps), ...args], {
      maxBuffer: 1 << 22,
      env: { ...process.env, TZ: 'UTC' },
    }));
  } catch (error) {
    const missing = rMissing(error);
    if (missing === undefined) throw error;
    notes.push(`R prophet skipped: ${missing} (apt-get install -y r-cran-prophet)`);
    return undefined;
  }
  const lines = stdout.trim().split('\n').filter((line) => line.startsWith('{"set"'));
  if (lines.length !== reps * sets.length) throw new Error(`r-prophet.R printed ${lines.length} repetitions, expected ${reps} for each of ${sets.length} sets:\n${stdout.slice(-1000)}`);
  const parsed = lines.map((line) => JSON.parse(line) as { set: number; fits: number; cpuSeconds: number });
  return sets.map((_, k) => parsed.filter((line) => line.set === k + 1).map(({ fits, cpuSeconds }) => ({ fits, cpuSeconds })));
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
await initProphet();
const root = await mkdtemp(path.join(os.tmpdir(), 'training-bench-'));
const containerArgs = compiledContainerArgs(repo);
const DATASETS = [
  ['seed data', { weekly: 0, noise: 0 }],
  ['noisy weekly', { weekly: 0.1, noise: 0.02 }],
] as const;
try {
  // The containers on both data sets first, then R prophet on both in one process.
  const runs = [];
  for (const [label, dataset] of DATASETS) {
    const dir = path.join(root, label.replace(' ', '-'));
    const ids = await writeTrainingChannel(dir, { customers: CUSTOMERS, ...dataset });
    const channel = path.join(dir, 'input', 'data', 'train');
    const spread = (n: number) => Array.from({ length: n }, (_, i) => ids[Math.floor((i * ids.length) / n)] as string);
    const stanChannel = path.join(root, `${label.replace(' ', '-')}-stan`);
    await mkdir(stanChannel, { recursive: true });
    for (const id of spread(STAN_CUSTOMERS)) await cp(path.join(channel, `${id}.csv`), path.join(stanChannel, `${id}.csv`));

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
    // R's forecasts are compared with ours on the noisy data only.
    const r: RSet = { channel, ids: spread(R_CUSTOMERS), out: dataset.noise === 0 ? undefined : path.join(root, `${label.replace(' ', '-')}-r.csv`) };
    runs.push({ label, dataset, exact, stan, lastExact, r });
  }
  const rResults = await runR(runs.map((run) => run.r), flags.reps);
  const withR = rResults !== undefined;

  for (const [k, { label, dataset, exact, stan, lastExact, r: rSet }] of runs.entries()) {
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
    const r = rResults?.[k];
    if (r === undefined) continue;
    figures.push({ name: rBaseline, unit: 'fits/CPU-s', samples: r.map((x) => x.fits / x.cpuSeconds), better: 'higher' });
    if (rSet.out === undefined || !lastExact) continue;

    // Forecast parity with R prophet and accuracy against the truth the generator continues.
    const rIds = rSet.ids;
    const rForecasts = await readRForecasts(rSet.out);
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
