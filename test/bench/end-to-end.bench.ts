/**
 * End to end: `npm start -- --once` (local mode: seeding raw/, processing, training on 2 instances,
 * validation, gate, warming, publishing, cleanup, sample forecasts) on a fresh data folder, for
 * 1,000 and 10,000 customers of the demo data set.
 *
 *   npx tsx test/bench/end-to-end.bench.ts [--quick] [--reps 3] [--customers 1000,10000] [--keep-data-dir DIR]
 *
 * Figures per size: wall seconds; each pipeline step's seconds as the run prints them
 * (`<step>: done in N s`); the local-mode process's own peak RSS (reported by the process at
 * exit) and the peak RSS of the largest process of the run, containers included (GNU time's
 * maximum resident set size over the process tree it waits for).
 * Baselines in the same run: `node -e 0` started the same way (the floor of any run), and for
 * every size after the first, the wall per 1,000 customers against the first size's: a ratio of
 * 1 means the run grows in proportion to the customers.
 * `--quick`: 50 customers only. The full run (10,000 customers three times) takes ~15 minutes.
 * `--keep-data-dir DIR`: the data folder of the first size's last repetition is kept as DIR (a
 * folder with published models; `npm run bench` serves it to local-mode and batch-forecast).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { compiledRunArgs } from '../../runtime/local/sagemaker/container-build.js';
import { benchOptions, finishBench, repeat } from './harness.js';
import type { Figure } from './harness.js';

const { flags, values } = benchOptions({ customers: { type: 'string' }, 'keep-data-dir': { type: 'string' } });
const keepDataDir = values['keep-data-dir'] as string | undefined;
const sizes = String(values.customers ?? (flags.quick ? '50' : '1000,10000')).split(',').map(Number);
const repo = path.resolve(import.meta.dirname, '..', '..');
const GNU_TIME = '/usr/bin/time';
const withTime = existsSync(GNU_TIME);
const STEPS = ['processing', 'training', 'validation', 'gate', 'warming', 'publishing', 'cleanup'] as const;
/** Preloaded into the local-mode process: its own peak RSS, on stderr as it exits. */
const REPORT_OWN_RSS = `data:text/javascript,process.on('exit', () => process.stderr.write('own-peak-rss-kb ' + process.resourceUsage().maxRSS + '\\n'))`;

interface Run {
  wall: number;
  steps: Record<string, number>;
  treePeakRssMb: number | undefined;
  ownPeakRssMb: number | undefined;
}

async function run(args: string[]): Promise<{ stdout: string; stderr: string; wall: number; treePeakRssMb: number | undefined; ownPeakRssMb: number | undefined }> {
  const [file, argv] = withTime ? [GNU_TIME, ['-f', 'tree-peak-rss-kb %M', process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(file, argv, { cwd: repo, maxBuffer: 512 * 1024 * 1024 });
  const wall = (performance.now() - started) / 1000;
  const kb = (name: string) => {
    const found = new RegExp(`${name} (\\d+)`).exec(stderr)?.[1];
    return found === undefined ? undefined : Number(found) / 1024;
  };
  return { stdout, stderr, wall, treePeakRssMb: kb('tree-peak-rss-kb'), ownPeakRssMb: kb('own-peak-rss-kb') };
}

/** One `npm start -- --once` on a fresh data folder, removed afterwards or, after a success, kept as `keepAs`. */
async function once(customers: number, keepAs?: string): Promise<Run> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-bench-'));
  let kept = false;
  try {
    const { stdout, wall, treePeakRssMb, ownPeakRssMb } = await run([
      '--import',
      REPORT_OWN_RSS,
      ...compiledRunArgs(repo, 'runtime/local/main.ts'),
      '--once',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--customers',
      String(customers),
    ]);
    if (!/^timing /m.test(stdout)) throw new Error(`npm start printed no timing line:\n${stdout.slice(-2000)}`);
    const steps: Record<string, number> = {};
    for (const [, name, seconds] of stdout.matchAll(/^(\w+): done in ([\d.]+) s/gm)) steps[name as string] = Number(seconds);
    process.stderr.write(`end-to-end: ${customers} customers, ${wall.toFixed(1)} s wall (${STEPS.map((s) => `${s} ${steps[s] ?? '-'}`).join(', ')}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}\n`);
    if (keepAs) {
      await rename(dataDir, keepAs);
      kept = true;
    }
    return { wall, steps, treePeakRssMb, ownPeakRssMb };
  } finally {
    if (!kept) await rm(dataDir, { recursive: true, force: true });
  }
}

const figures: Figure[] = [];
const floor = await repeat(flags.reps, async () => (await run(['-e', '0'])).wall);
figures.push({ name: 'node -e 0 (process start floor)', unit: 's', samples: floor, better: 'lower' });
const wallName = (customers: number) => `npm start -- --once, ${customers} customers: wall`;
for (const [index, customers] of sizes.entries()) {
  const runs = await repeat(flags.reps, (rep) => once(customers, index === 0 && rep === flags.reps - 1 ? keepDataDir : undefined));
  const walls = runs.map((r) => r.wall);
  figures.push({
    name: wallName(customers),
    unit: 's',
    samples: walls,
    better: 'lower',
    baseline: 'node -e 0 (process start floor)',
    target: customers === 10_000 ? '≤ 180 s' : customers === 1000 ? '≤ 30 s' : undefined,
  });
  const first = sizes[0] as number;
  if (index > 0) {
    figures.push({
      name: `${customers} customers: wall per 1,000 customers`,
      unit: 's',
      samples: walls.map((w) => (w * 1000) / customers),
      better: 'lower',
      baseline: `${first} customers: wall per 1,000 customers`,
      target: 'ratio ≤ 1 (proportional)',
    });
  } else if (sizes.length > 1) {
    figures.push({ name: `${customers} customers: wall per 1,000 customers`, unit: 's', samples: walls.map((w) => (w * 1000) / customers), better: 'lower' });
  }
  for (const step of STEPS) {
    const samples = runs.map((r) => r.steps[step]).filter((v): v is number => v !== undefined);
    if (samples.length === runs.length) figures.push({ name: `${customers} customers: ${step}`, unit: 's', samples, better: 'lower' });
  }
  const own = runs.map((r) => r.ownPeakRssMb).filter((v): v is number => v !== undefined);
  if (own.length === runs.length) figures.push({ name: `${customers} customers: peak RSS of the local-mode process`, unit: 'MB', samples: own, better: 'lower' });
  const tree = runs.map((r) => r.treePeakRssMb).filter((v): v is number => v !== undefined);
  if (tree.length === runs.length) figures.push({ name: `${customers} customers: peak RSS of the largest process (containers included)`, unit: 'MB', samples: tree, better: 'lower' });
}
finishBench(flags, {
  bench: 'end-to-end',
  figures,
  notes: [`customers ${sizes.join(', ')}; demo data set, 2 training instances (local defaults)${withTime ? '' : '; largest-process RSS skipped: /usr/bin/time missing'}`],
});
