/**
 * Training benchmark: the training container on every core against the seed's way, one model
 * after another in one thread, measured in the same run on the same data.
 *
 *   npx tsx test/bench/training.bench.ts [--customers 1000] [--sequential 150] [--weekly 0] [--noise 0]
 *
 * Data: the seed's data set from A's generator (1000 customers × 365 daily rows; `--weekly` and
 * `--noise` add the generator's weekly pattern and noise), one `<customerId>.csv` per customer as
 * the processing job writes them. Both sides do the same work per customer with the container's
 * default hyperparameters: fit without the 14-day holdout, evaluate it, refit on all data, write
 * the archive.
 * - parallel: `node --import tsx containers/cli.ts train` on all `--customers` (worker threads on
 *   every CPU, recycled), wall time from start to exit;
 * - sequential: `--sequential` customers spread over the same set, trained one after another in
 *   one thread of a child process pinned to one core (`taskset -c 0`): the seed's way. Unpinned,
 *   V8's garbage-collector threads would lend the baseline part of the second core.
 * Target: parallel throughput ≥ 1.8× sequential on a 2-core machine. Results also go to
 * bench-results/training.json.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { initProphetFitting } from '../../containers/shared/prophet.js';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import type { HostSummary } from '../../containers/training/job.js';
import { trainCustomer } from '../../containers/training/train-customer.js';
import { writeTrainingChannel } from '../containers/training-fixture.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '1000' },
    sequential: { type: 'string', default: '150' },
    weekly: { type: 'string', default: '0' },
    noise: { type: 'string', default: '0' },
    'sequential-child': { type: 'string' },
  },
});
const CUSTOMERS = Number(values.customers);
const SEQUENTIAL = Math.min(Number(values.sequential), CUSTOMERS);
const repo = path.resolve(import.meta.dirname, '..', '..');

if (values['sequential-child'] !== undefined) {
  // Child mode: train the listed customers one after another and report on stdout.
  const { channel, out, ids } = JSON.parse(values['sequential-child']) as { channel: string; out: string; ids: string[] };
  const settings = parseHyperparameters({ run_id: 'bench' }, {});
  await initProphetFitting();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  for (const customerId of ids) {
    await trainCustomer({ customerId, file: path.join(channel, `${customerId}.csv`), checkpoint: path.join(out, `${customerId}.tar.gz`) }, settings);
  }
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - start) / 1000, cpuMs: (cpu.user + cpu.system) / 1000 }));
  process.exit(0);
}

/** Runs the sequential baseline in a child process, pinned to one core where taskset exists. */
async function runSequential(channel: string, out: string, ids: string[]): Promise<{ seconds: number; cpuMs: number; pinned: boolean }> {
  const args = ['--import', 'tsx', path.join(repo, 'test', 'bench', 'training.bench.ts'), '--sequential-child', JSON.stringify({ channel, out, ids })];
  const pinned = existsSync('/usr/bin/taskset');
  const [file, argv] = pinned ? ['/usr/bin/taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args];
  const { stdout } = await promisify(execFile)(file, argv, { cwd: repo, maxBuffer: 1 << 20 });
  return { ...(JSON.parse(stdout) as { seconds: number; cpuMs: number }), pinned };
}

const base = await mkdtemp(path.join(os.tmpdir(), 'training-bench-'));
try {
  const ids = await writeTrainingChannel(base, { customers: CUSTOMERS, weekly: Number(values.weekly), noise: Number(values.noise) });
  const channel = path.join(base, 'input', 'data', 'train');
  process.stderr.write(`${CUSTOMERS} customers written to ${channel}; ${os.availableParallelism()} CPUs\n`);

  // Sequential: the seed's way, one customer after another on one core.
  const subset = Array.from({ length: SEQUENTIAL }, (_, i) => ids[Math.floor((i * ids.length) / SEQUENTIAL)] as string);
  const sequential = await runSequential(channel, path.join(base, 'sequential'), subset);
  const sequentialSeconds = sequential.seconds;
  const sequentialRate = SEQUENTIAL / sequentialSeconds;
  process.stderr.write(
    `sequential: ${SEQUENTIAL} customers in ${sequentialSeconds.toFixed(1)} s (${sequentialRate.toFixed(2)} models/s${sequential.pinned ? ', pinned to one core' : ', not pinned: taskset missing'})\n`,
  );

  // Parallel: the training container as the image runs it.
  const parallelStart = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'containers/cli.ts', 'train'], {
      cwd: repo,
      env: { ...process.env, SAGEMAKER_BASE_DIR: base },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', resolve);
  });
  const parallelSeconds = (performance.now() - parallelStart) / 1000;
  if (code !== 0) throw new Error(`the training container exited with ${code}`);
  const summary = JSON.parse(await readFile(path.join(base, 'model', 'summary-algo-1.json'), 'utf8')) as HostSummary;
  const parallelRate = summary.customers.trained / parallelSeconds;

  const result = {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    data: { customers: CUSTOMERS, days: 365, weekly: Number(values.weekly), noise: Number(values.noise) },
    sequential: {
      customers: SEQUENTIAL,
      seconds: sequentialSeconds,
      modelsPerSecond: sequentialRate,
      cpuMsPerModel: sequential.cpuMs / SEQUENTIAL,
      pinnedToOneCore: sequential.pinned,
    },
    parallel: {
      customers: summary.customers.trained,
      failed: summary.customers.failed,
      workers: summary.timing.workers,
      seconds: parallelSeconds,
      modelsPerSecond: parallelRate,
      cpuMsPerModel: summary.timing.cpuMsPerModel,
      holdout: summary.holdout,
    },
    ratio: parallelRate / sequentialRate,
    target: 1.8,
  };
  await mkdir(path.join(repo, 'bench-results'), { recursive: true });
  await writeFile(path.join(repo, 'bench-results', 'training.json'), `${JSON.stringify(result, null, 2)}\n`);
  const line = (label: string, rate: number, cpuMs: number | null) => `${label.padEnd(34)} ${rate.toFixed(2).padStart(7)} models/s   ${cpuMs?.toFixed(0) ?? '?'} CPU ms/model`;
  console.log(line(`sequential, 1 core (${SEQUENTIAL} customers)`, sequentialRate, result.sequential.cpuMsPerModel));
  console.log(line(`container, ${summary.timing.workers} workers (${CUSTOMERS} customers)`, parallelRate, summary.timing.cpuMsPerModel));
  console.log(`throughput ratio ${result.ratio.toFixed(2)}× (target ≥ ${result.target}× on 2 cores) — ${result.ratio >= result.target ? 'met' : 'NOT met'}`);
  const busy = (cpuMs: number | null, models: number, seconds: number) => ((cpuMs ?? 0) * models) / 1000 / seconds;
  console.log(
    `cores busy (CPU s / wall s): sequential ${busy(result.sequential.cpuMsPerModel, SEQUENTIAL, sequentialSeconds).toFixed(2)}, ` +
      `container ${busy(summary.timing.cpuMsPerModel, summary.customers.trained, parallelSeconds).toFixed(2)} (a ratio below the core count means the CPUs were shared)`,
  );
  console.log(`holdout: mean MAE ${summary.holdout.meanMae?.toFixed(3)} vs seasonal-naive ${summary.holdout.meanSeasonalNaiveMae?.toFixed(3)}; wall includes process start and Prophet init`);
} finally {
  await rm(base, { recursive: true, force: true });
}
