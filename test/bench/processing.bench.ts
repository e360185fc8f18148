/**
 * Processing benchmark: 10 million raw rows (27,400 customers x 365 days), written newest quarter
 * first over four files so every customer's rows arrive out of time order, then processed by the
 * container's entrypoint in a child process that reports its own wall time and peak RSS.
 * Baselines in the same run: reading the same files line by line, creating as many files as there
 * are customers (together, the I/O floor of the job), and csv-parse alone on one file.
 *
 *   npx tsx test/bench/processing.bench.ts [--customers 27400] [--days 365] [--keep] [--dist DIR]
 *
 * `--dist DIR` runs the compiled container (`DIR/containers/processing/main.js`, as the image
 * does) instead of the TypeScript source under tsx, whose loader adds memory to every thread.
 *
 * Targets: >= 500,000 rows/s and peak RSS <= 300 MB. The data lives in a temp folder, removed at
 * the end unless --keep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import { DATASET_HEADER, datasetChunks } from '../../runtime/dataset/generator.js';

const FILES = 4;

interface ChildReport {
  exitCode: number;
  wallMs: number;
  maxRssMb: number;
  cpuMs: number;
}

async function child(base: string, dist: string | undefined): Promise<void> {
  process.env.SAGEMAKER_BASE_DIR = base;
  const entry = dist ? pathToFileURL(path.resolve(dist, 'containers', 'processing', 'main.js')).href : '../../containers/processing/main.js';
  const { main } = (await import(entry)) as { main: (args: readonly string[]) => Promise<number> };
  const started = performance.now();
  const exitCode = await main(['--scratch', base]);
  const usage = process.resourceUsage();
  const report: ChildReport = {
    exitCode,
    wallMs: performance.now() - started,
    maxRssMb: usage.maxRSS / 1024,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

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
  return new Promise((resolve, reject) => {
    const args = ['--import=tsx', process.argv[1]!, '--child', base, ...(dist ? ['--dist', dist] : [])];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (data: Buffer) => (out += data.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildReport) : reject(new Error(`child exited ${code}`))));
  });
}

async function bench(customers: number, days: number, keep: boolean, dist: string | undefined): Promise<void> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'processing-bench-'));
  try {
    const rawDir = path.join(base, 'processing', 'input', 'raw');
    let started = performance.now();
    const rows = await writeInput(rawDir, customers, days);
    const files = fs.readdirSync(rawDir).sort().map((name) => path.join(rawDir, name));
    const bytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
    console.log(`input: ${rows} rows, ${customers} customers, ${FILES} files, ${(bytes / 1e6).toFixed(0)} MB, newest days first (${((performance.now() - started) / 1000).toFixed(1)} s to generate)`);

    const baseline = await lineReading(files);
    const baselineRate = baseline.rows / (baseline.ms / 1000);
    console.log(`baseline, line reading:   ${Math.round(baselineRate)} rows/s (${baseline.rows} rows in ${(baseline.ms / 1000).toFixed(2)} s)`);
    const creation = fileCreation(path.join(base, 'file-creation-baseline'), customers, Math.round(bytes / customers));
    console.log(`baseline, creating ${customers} files: ${(creation.ms / 1000).toFixed(2)} s`);
    const floorMs = baseline.ms + creation.ms;
    const reference = await csvParseOnly(files[0]!);
    const referenceRate = reference.rows / (reference.ms / 1000);
    console.log(`reference, csv-parse only: ${Math.round(referenceRate)} rows/s (${reference.rows} rows of one file in ${(reference.ms / 1000).toFixed(2)} s)`);

    started = performance.now();
    const report = await runChild(base, dist);
    if (report.exitCode !== 0) throw new Error(`processing exited ${report.exitCode}`);
    const summary = JSON.parse(fs.readFileSync(path.join(base, 'processing', 'output', 'report', 'summary.json'), 'utf8')) as { customers: number; rows: { written: number } };
    if (summary.customers !== customers || summary.rows.written !== rows) throw new Error(`processing wrote ${summary.customers} customers / ${summary.rows.written} rows, expected ${customers} / ${rows}`);
    const rate = rows / (report.wallMs / 1000);
    const result = {
      code: dist ? `compiled (${dist})` : 'TypeScript source under tsx',
      rows,
      customers,
      processingRowsPerSecond: Math.round(rate),
      processingSeconds: Number((report.wallMs / 1000).toFixed(2)),
      peakRssMb: Math.round(report.maxRssMb),
      // CPU time is far less sensitive than wall time to other work on a shared machine.
      rowsPerCpuSecond: Math.round(rows / (report.cpuMs / 1000)),
      baselineLineReadingRowsPerSecond: Math.round(baselineRate),
      ratioToLineReading: Number((rate / baselineRate).toFixed(3)),
      fileCreationSeconds: Number((creation.ms / 1000).toFixed(2)),
      // Reading the input plus creating the output files, sequentially: the I/O floor of the job.
      ratioToReadPlusCreateFloor: Number((floorMs / report.wallMs).toFixed(3)),
      csvParseOnlyRowsPerSecond: Math.round(referenceRate),
      ratioToCsvParseOnly: Number((rate / referenceRate).toFixed(2)),
      loadAverage: os.loadavg().map((load) => Number(load.toFixed(1))),
      meetsTargets: rate >= 500_000 && report.maxRssMb <= 300,
    };
    console.log(`processing:                ${result.processingRowsPerSecond} rows/s (${result.processingSeconds} s), ${result.rowsPerCpuSecond} rows per CPU-second, peak RSS ${result.peakRssMb} MB`);
    console.log(`ratio to line reading ${result.ratioToLineReading}, to line reading + file creation ${result.ratioToReadPlusCreateFloor}, to csv-parse alone ${result.ratioToCsvParseOnly}; targets >= 500000 rows/s and <= 300 MB: ${result.meetsTargets ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify(result));
    fs.mkdirSync('bench-results', { recursive: true });
    fs.writeFileSync(path.join('bench-results', 'processing.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (keep) console.log(`kept ${base}`);
    else fs.rmSync(base, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: { child: { type: 'string' }, dist: { type: 'string' }, customers: { type: 'string', default: '27400' }, days: { type: 'string', default: '365' }, keep: { type: 'boolean', default: false } },
});
if (values.child) await child(values.child, values.dist);
else await bench(Number(values.customers), Number(values.days), values.keep, values.dist);
