/**
 * End to end: `npm start -- --once` (local mode: processing, training on 2 instances, validation,
 * gate, publishing) on a fresh data folder, for 1,000 and 10,000 customers of the seed's data set.
 *
 *   npx tsx test/bench/end-to-end.bench.ts [--quick] [--reps 3] [--customers 1000,10000]
 *
 * Figures per size: wall seconds, and the processing, training and publishing seconds the run
 * prints; peak RSS of the largest process in the run (GNU time's maximum resident set size of the
 * process tree it waits for). Baseline in the same run: `node -e 0` started the same way, the
 * floor of any run. `--quick`: 200 customers only.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { benchOptions, finishBench, repeat } from './harness.js';
import type { Figure } from './harness.js';

const { flags, values } = benchOptions({ customers: { type: 'string' } });
const sizes = String(values.customers ?? (flags.quick ? '200' : '1000,10000')).split(',').map(Number);
const repo = path.resolve(import.meta.dirname, '..', '..');
const GNU_TIME = '/usr/bin/time';
const withTime = existsSync(GNU_TIME);

interface Run {
  wall: number;
  steps: Record<string, number>;
  peakRssMb: number | undefined;
}

async function run(args: string[]): Promise<{ stdout: string; stderr: string; wall: number; peakRssMb: number | undefined }> {
  const [file, argv] = withTime ? [GNU_TIME, ['-f', 'peak-rss-kb %M', process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(file, argv, { cwd: repo, maxBuffer: 512 * 1024 * 1024 });
  const wall = (performance.now() - started) / 1000;
  const kb = /peak-rss-kb (\d+)/.exec(stderr)?.[1];
  return { stdout, stderr, wall, peakRssMb: kb === undefined ? undefined : Number(kb) / 1024 };
}

async function once(customers: number): Promise<Run> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-bench-'));
  try {
    const { stdout, wall, peakRssMb } = await run(['--import', 'tsx', 'runtime/local/main.ts', '--once', '--port', '0', '--data-dir', dataDir, '--customers', String(customers)]);
    const timing = /^timing (.*)$/m.exec(stdout)?.[1];
    if (!timing) throw new Error(`npm start printed no timing line:\n${stdout.slice(-2000)}`);
    const steps: Record<string, number> = {};
    for (const [, name, seconds] of timing.matchAll(/(\w+) ([\d.]+) s/g)) steps[name as string] = Number(seconds);
    return { wall, steps, peakRssMb };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const figures: Figure[] = [];
const floor = await repeat(flags.reps, async () => (await run(['-e', '0'])).wall);
figures.push({ name: 'node -e 0 (process start floor)', unit: 's', samples: floor, better: 'lower' });
for (const customers of sizes) {
  const runs = await repeat(flags.reps, () => once(customers));
  const wallName = `npm start -- --once, ${customers} customers: wall`;
  figures.push({ name: wallName, unit: 's', samples: runs.map((r) => r.wall), better: 'lower', target: customers >= 10_000 ? '≤ 180 s' : customers >= 1000 ? '≤ 30 s' : undefined });
  for (const step of ['processing', 'training', 'publishing']) {
    const samples = runs.map((r) => r.steps[step]).filter((v): v is number => v !== undefined);
    if (samples.length === runs.length) figures.push({ name: `${customers} customers: ${step}`, unit: 's', samples, better: 'lower' });
  }
  const rss = runs.map((r) => r.peakRssMb).filter((v): v is number => v !== undefined);
  if (rss.length === runs.length) figures.push({ name: `${customers} customers: peak RSS of one process`, unit: 'MB', samples: rss, better: 'lower' });
}
finishBench(flags, {
  bench: 'end-to-end',
  figures,
  notes: [`customers ${sizes.join(', ')}; seed data set, 2 training instances (local defaults)${withTime ? '' : '; peak RSS skipped: /usr/bin/time missing'}`],
});
