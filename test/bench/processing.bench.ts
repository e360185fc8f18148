/**
 * Processing benchmark: 10 million raw rows (27,400 customers x 365 days), written newest quarter
 * first over four files so every customer's rows arrive out of time order, then processed by the
 * container's entrypoint in a child process that reports its own wall time and peak RSS.
 * Baselines in the same run: reading the same files line by line in as many processes as the job
 * has threads (the fair baseline) and in one thread, creating as many files as there are customers
 * (with one-thread reading, the I/O floor of the job), and csv-parse alone on one file.
 *
 *   npx tsx test/bench/processing.bench.ts [--quick] [--reps 3] [--customers 27400] [--days 365] [--keep] [--dist DIR | --source]
 *
 * `--quick`: 685 customers (250,000 rows).
 *
 * The container runs compiled, as local mode and the image run it (`DIR/containers/processing/main.js`;
 * by default local mode's compile, container-build.js; `--dist DIR` names another); `--source` runs
 * the TypeScript source under tsx instead, whose loader adds CPU and memory to every thread.
 *
 * Targets: >= 500,000 rows/s and peak RSS <= 300 MB. The data lives in a temp folder, removed at
 * the end unless --keep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import { DATASET_HEADER, datasetChunks } from '../../runtime/dataset/generator.js';
import { containerBuild } from '../../runtime/local/sagemaker/container-build.js';
import { benchOptions, finishBench, repeat } from './harness.js';
import type { Figure } from './harness.js';

const FILES = 4;

interface ChildReport {
  exitCode: number;
  wallMs: number;
  maxRssMb: number;
  cpuMs: number;
}

/**
 * The processing job in a child process of its own, which reports its wall time from the call of
 * main(), its peak RSS and its CPU time (start-up included). Plain Node on the compiled entrypoint,
 * as the image runs it: under tsx the child paid a loader for the bench's own imports.
 */
const CHILD_SCRIPT = `
  const [entry, base] = process.argv.slice(1);
  const { main } = await import(entry);
  const started = performance.now();
  const exitCode = await main(['--scratch', base]);
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({ exitCode, wallMs: performance.now() - started, maxRssMb: usage.maxRSS / 1024, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }) + '\\n');`;

/** Writes the data set in time order, the days split into FILES files with the newest days in the first file. */
async function writeInput(rawDir: string, customers: number, days: number): Promise<number> {
  fs.mkdirSync(rawDir, { recursive: true });
  const daysPerFile = Math.ceil(days / FILES);
  const streams = Array.from({ length: FILES }, (_, i) => {
    const stream = fs.createWriteStream(path.join(rawDir, `drop-${i + 1}.csv`));
    stream.write(`${DATASET_HEADER}\n`);
    return stream;
  });
  let rows = 0;
  for (const chunk of datasetChunks({ customers, days, order: 'time' })) {
    const lines = chunk.split('\n');
    const parts: string[][] = Array.from({ length: FILES }, () => []);
    for (const line of lines) {
      if (line === '' || line === DATASET_HEADER) continue;
      const day = Math.floor(rows / customers);
      parts[FILES - 1 - Math.floor(day / daysPerFile)]!.push(line);
      rows++;
    }
    for (let i = 0; i < FILES; i++) {
      if (parts[i]!.length > 0 && !streams[i]!.write(`${parts[i]!.join('\n')}\n`)) {
        await once(streams[i]!, 'drain');
      }
    }
  }
  await Promise.all(streams.map((stream) => new Promise<void>((resolve) => stream.end(() => resolve()))));
  return rows;
}

/** Baseline: read every file and split it into lines, nothing else. */
async function lineReading(files: string[]): Promise<{ rows: number; ms: number }> {
  const started = performance.now();
  let rows = 0;
  for (const file of files) {
    let rest = '';
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' })) {
      const text = rest + (chunk as string);
      let start = 0;
      let end: number;
      while ((end = text.indexOf('\n', start)) !== -1) {
        if (text.slice(start, end).split(',').length > 0) rows++;
        start = end + 1;
      }
      rest = text.slice(start);
    }
  }
  return { rows: rows - files.length, ms: performance.now() - started };
}

/** Baseline: create one file per customer, of the average customer file's size, nothing else. */
function fileCreation(dir: string, customers: number, bytesPerFile: number): { ms: number } {
  fs.mkdirSync(dir);
  const content = 'x'.repeat(bytesPerFile);
  const started = performance.now();
  for (let i = 0; i < customers; i++) fs.writeFileSync(path.join(dir, `${i}.csv`), content);
  return { ms: performance.now() - started };
}

/** Reference: csv-parse alone (records only, no validation) on one file. */
async function csvParseOnly(file: string): Promise<{ rows: number; ms: number }> {
  const started = performance.now();
  let rows = 0;
  for await (const _record of fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parse({ from_line: 2 }))) rows++;
  return { rows, ms: performance.now() - started };
}

function runChild(base: string, dist: string | undefined): Promise<ChildReport> {
  const entry = dist ? path.resolve(dist, 'containers', 'processing', 'main.js') : path.resolve(import.meta.dirname, '..', '..', 'containers', 'processing', 'main.ts');
  const args = [...(dist ? [] : ['--import=tsx']), '--input-type=module', '-e', CHILD_SCRIPT, pathToFileURL(entry).href, base];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SAGEMAKER_BASE_DIR: base } });
    let out = '';
    proc.stdout.on('data', (data: Buffer) => (out += data.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildReport) : reject(new Error(`child exited ${code}`))));
  });
}

/**
 * Baseline: the files read and split into lines by `threads` processes at once (files dealt
 * round-robin), the same parallelism the processing job gets. Returns the wall time of all.
 */
async function lineReadingParallel(files: string[], threads: number): Promise<{ rows: number; ms: number }> {
  const script = `
    const fs = require('node:fs');
    (async () => {
      let rows = 0;
      for (const file of process.argv.slice(1)) {
        let rest = '';
        for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' })) {
          const text = rest + chunk;
          let start = 0, end;
          while ((end = text.indexOf('\\n', start)) !== -1) { if (text.slice(start, end).split(',').length > 0) rows++; start = end + 1; }
          rest = text.slice(start);
        }
        rows--;
      }
      process.stdout.write(String(rows));
    })();`;
  const shares = Array.from({ length: Math.min(threads, files.length) }, (_, i) => files.filter((_, j) => j % threads === i));
  const started = performance.now();
  const counts = await Promise.all(
    shares.map(
      (share) =>
        new Promise<number>((resolve, reject) => {
          const proc = spawn(process.execPath, ['-e', script, ...share], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          proc.stdout.on('data', (data: Buffer) => (out += data.toString()));
          proc.on('error', reject);
          proc.on('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`line reader exited ${code}`))));
        }),
    ),
  );
  return { rows: counts.reduce((a, b) => a + b, 0), ms: performance.now() - started };
}

async function measure(base: string, files: string[], rows: number, customers: number, bytes: number, dist: string | undefined) {
  fs.rmSync(path.join(base, 'processing', 'output'), { recursive: true, force: true });
  const report = await runChild(base, dist);
  if (report.exitCode !== 0) throw new Error(`processing exited ${report.exitCode}`);
  const summary = JSON.parse(fs.readFileSync(path.join(base, 'processing', 'output', 'report', 'summary.json'), 'utf8')) as { customers: number; rows: { written: number }; workers: number };
  if (summary.customers !== customers || summary.rows.written !== rows) throw new Error(`processing wrote ${summary.customers} customers / ${summary.rows.written} rows, expected ${customers} / ${rows}`);
  const baseline = await lineReading(files);
  // As many readers as the job used threads (the CPUs available, at most 8, and one per spill partition of 8 MiB of input).
  const parallel = await lineReadingParallel(files, summary.workers);
  if (parallel.rows !== baseline.rows) throw new Error(`parallel line reading counted ${parallel.rows} rows, sequential ${baseline.rows}`);
  const creationDir = path.join(base, 'file-creation-baseline');
  fs.rmSync(creationDir, { recursive: true, force: true });
  const creation = fileCreation(creationDir, customers, Math.round(bytes / customers));
  const reference = await csvParseOnly(files[0]!);
  return {
    threads: summary.workers,
    processing: rows / (report.wallMs / 1000),
    rowsPerCpuSecond: rows / (report.cpuMs / 1000),
    peakRssMb: report.maxRssMb,
    lineReading: baseline.rows / (baseline.ms / 1000),
    lineReadingParallel: parallel.rows / (parallel.ms / 1000),
    // Reading the input plus creating the output files, sequentially: the I/O floor of the job.
    floor: rows / ((baseline.ms + creation.ms) / 1000),
    csvParseOnly: reference.rows / (reference.ms / 1000),
  };
}

const { flags, values } = benchOptions({
  dist: { type: 'string' },
  source: { type: 'boolean', default: false },
  customers: { type: 'string' },
  days: { type: 'string', default: '365' },
  keep: { type: 'boolean', default: false },
});
const dist = values.source ? undefined : ((values.dist as string | undefined) ?? containerBuild(path.resolve(import.meta.dirname, '..', '..')));
const customers = Number(values.customers ?? (flags.quick ? 685 : 27400));
const days = Number(values.days);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'processing-bench-'));
try {
  const rawDir = path.join(base, 'processing', 'input', 'raw');
  const rows = await writeInput(rawDir, customers, days);
  const files = fs.readdirSync(rawDir).sort().map((name) => path.join(rawDir, name));
  const bytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
  const runs = await repeat(flags.reps, () => measure(base, files, rows, customers, bytes, dist));
  const threads = runs[0]!.threads;
  if (runs.some((run) => run.threads !== threads)) throw new Error(`processing used ${runs.map((run) => run.threads).join(', ')} threads in its repetitions; expected the same on the same data`);
  const readers = Math.min(threads, FILES);
  const parallelName = `line reading, ${readers} process${readers === 1 ? '' : 'es'} (as many as processing's threads)`;
  const figures: Figure[] = [
    { name: 'processing', unit: 'rows/s', samples: runs.map((r) => r.processing), better: 'higher', baseline: parallelName, target: '≥ 500,000 rows/s' },
    { name: parallelName, unit: 'rows/s', samples: runs.map((r) => r.lineReadingParallel), better: 'higher' },
    { name: 'line reading, one thread', unit: 'rows/s', samples: runs.map((r) => r.lineReading), better: 'higher' },
    { name: 'line reading + file creation, one thread (I/O floor)', unit: 'rows/s', samples: runs.map((r) => r.floor), better: 'higher' },
    { name: 'csv-parse alone, one file', unit: 'rows/s', samples: runs.map((r) => r.csvParseOnly), better: 'higher' },
    { name: 'processing: rows per CPU-second', unit: 'rows/CPU-s', samples: runs.map((r) => r.rowsPerCpuSecond), better: 'higher' },
    { name: 'processing: peak RSS', unit: 'MB', samples: runs.map((r) => r.peakRssMb), better: 'lower', target: '≤ 300 MB' },
  ];
  finishBench(flags, {
    bench: 'processing',
    figures,
    notes: [`processing: ${rows} rows, ${customers} customers, ${FILES} files (${(bytes / 1e6).toFixed(0)} MB), newest days first; ${dist ? `compiled (${dist})` : 'TypeScript source under tsx'}; ${threads} processing thread${threads === 1 ? '' : 's'} (its summary)`],
  });
} finally {
  if (values.keep) console.log(`kept ${base}`);
  else fs.rmSync(base, { recursive: true, force: true });
}
