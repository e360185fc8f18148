/**
 * `npm run bench [-- --quick] [--reps N] [--only a,b]`: runs every `test/bench/*.bench.ts`, one
 * after another, through the interface in harness.ts, and writes one table.
 *
 * Each figure is the median of `--reps` repetitions (3 by default) with min and max, beside the
 * baseline its bench measured in the same run on the same data. The load average before and after
 * each bench is recorded, and the CPU time the bench and all its processes used (Linux): on a
 * shared machine read ratios and CPU seconds, not absolute times. Results go to
 * bench-results/bench.md and bench-results/bench.json. `--quick` asks every bench for its small
 * version (the whole run stays under two minutes).
 *
 * Run it alone on the machine: `flock -x /work/.bench.lock npm run bench` where others share it.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TABLE_HEADER, loadAverage, summarize, tableRows } from './harness.js';
import type { BenchReport } from './harness.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const here = import.meta.dirname;
const repo = path.resolve(here, '..', '..');
const only = values.only?.split(',').map((s) => s.trim());
/**
 * One published data folder for the benches that only serve models: end-to-end keeps the folder
 * of its first size's last `npm start -- --once` (without end-to-end, local-mode's own start
 * writes it), and local-mode and batch-forecast serve it instead of each training their own
 * (two local pipeline runs fewer, ≈ 15 s of a quick run). So these run first, in this order.
 */
const PUBLISH_ARGS: Record<string, (dir: string) => string[]> = {
  'end-to-end.bench.ts': (dir) => ['--keep-data-dir', dir],
  'local-mode.bench.ts': (dir) => ['--data-dir', dir],
};
const SERVE_ARGS: Record<string, (dir: string) => string[]> = {
  'local-mode.bench.ts': (dir) => ['--data-dir', dir, '--skip-start'],
  'batch-forecast.bench.ts': (dir) => ['--data-dir', dir],
};
const SHARING_ORDER = ['end-to-end.bench.ts', 'local-mode.bench.ts', 'batch-forecast.bench.ts'];
const rank = (name: string) => (SHARING_ORDER.includes(name) ? SHARING_ORDER.indexOf(name) : SHARING_ORDER.length);
const files = (await readdir(here))
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => !only || only.includes(name.replace(/\.bench\.ts$/, '')))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

/**
 * CPU seconds used so far by this process's finished children and their waited-for descendants
 * (Linux `/proc/self/stat` cutime + cstime, in USER_HZ = 100 ticks a second); undefined elsewhere.
 */
async function childrenCpuSeconds(): Promise<number | undefined> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

interface Outcome {
  file: string;
  seconds: number;
  /** CPU seconds of the bench's process tree, where the system tells. */
  cpuSeconds?: number;
  loadBefore: string;
  loadAfter: string;
  report?: BenchReport;
  error?: string;
}

function runOne(file: string, reportFile: string, extraArgs: readonly string[]): Promise<{ code: number | null; stderrTail: string }> {
  const args = ['--import', 'tsx', path.join(here, file), '--bench-report', reportFile, '--reps', String(values.reps), ...(values.quick ? ['--quick'] : []), ...extraArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString()).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderrTail: tail }));
  });
}

const scratch = await mkdtemp(path.join(os.tmpdir(), 'bench-run-'));
const outcomes: Outcome[] = [];
const started = new Date();
const publisher = files.find((file) => file in PUBLISH_ARGS);
const servers = files.filter((file) => file !== publisher && file in SERVE_ARGS);
const published = path.join(scratch, 'published');
/** Extra arguments of `file`: where it publishes or finds the shared folder, if it takes part. */
const sharingArgs = (file: string): string[] =>
  !publisher || servers.length === 0 ? [] : file === publisher ? PUBLISH_ARGS[file]!(published) : servers.includes(file) ? SERVE_ARGS[file]!(published) : [];
try {
  for (const file of files) {
    console.log(`\n=== ${file} (load average ${loadAverage()})`);
    const reportFile = path.join(scratch, `${file}.json`);
    const loadBefore = loadAverage();
    const cpuBefore = await childrenCpuSeconds();
    const t0 = performance.now();
    const { code, stderrTail } = await runOne(file, reportFile, sharingArgs(file));
    const cpuAfter = await childrenCpuSeconds();
    const outcome: Outcome = { file, seconds: (performance.now() - t0) / 1000, loadBefore, loadAfter: loadAverage() };
    if (cpuBefore !== undefined && cpuAfter !== undefined) outcome.cpuSeconds = cpuAfter - cpuBefore;
    if (code === 0) {
      try {
        outcome.report = JSON.parse(await readFile(reportFile, 'utf8')) as BenchReport;
      } catch (error) {
        outcome.error = `exited 0 but wrote no report (${(error as Error).message}); does it end with finishBench() from harness.ts?`;
      }
    } else {
      const lastLine = stderrTail.trim().split('\n').filter(Boolean).at(-1) ?? '';
      outcome.error = `exited with code ${code}: ${lastLine}`;
    }
    outcomes.push(outcome);
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const lines = [
  `# npm run bench${values.quick ? ' -- --quick' : ''}`,
  '',
  `${started.toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, reps ${values.reps}`,
  '',
  ...TABLE_HEADER,
  ...outcomes.flatMap((o) => (o.report ? tableRows(o.report) : [`| ${o.file} | FAILED: ${o.error ?? ''} | | | | | |`])),
  '',
  '| bench | seconds | CPU seconds | load average before | after | notes |',
  '|---|---|---|---|---|---|',
  ...outcomes.map((o) => `| ${o.file} | ${o.seconds.toFixed(0)} | ${o.cpuSeconds?.toFixed(0) ?? ''} | ${o.loadBefore} | ${o.loadAfter} | ${(o.report?.notes ?? []).join('; ')} |`),
  `| total | ${outcomes.reduce((sum, o) => sum + o.seconds, 0).toFixed(0)} | ${outcomes.reduce((sum, o) => sum + (o.cpuSeconds ?? 0), 0).toFixed(0)} | | | |`,
];
await mkdir(path.join(repo, 'bench-results'), { recursive: true });
await writeFile(path.join(repo, 'bench-results', 'bench.md'), `${lines.join('\n')}\n`);
await writeFile(
  path.join(repo, 'bench-results', 'bench.json'),
  `${JSON.stringify(
    {
      startedAt: started.toISOString(),
      quick: values.quick,
      reps: Number(values.reps),
      cpus: os.cpus().length,
      node: process.version,
      benches: outcomes.map((o) => ({ ...o, summary: o.report ? summarize(o.report) : undefined })),
    },
    null,
    2,
  )}\n`,
);
console.log(`\n${lines.join('\n')}\n\nwritten to bench-results/bench.md and bench-results/bench.json`);
if (outcomes.some((o) => o.error)) process.exitCode = 1;
