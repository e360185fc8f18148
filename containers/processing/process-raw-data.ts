import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { customerIdFromFileName } from './customer-file.js';
import { CUSTOMER_INDEX_FILE, formatCustomerIndex } from './customer-index.js';
import { QUARANTINE_HEADER, concatenateQuarantine } from './quarantine.js';
import type { FileSummary, ReadResult, ReadTask } from './read-phase.js';
import { QUARANTINE_REASONS } from './row.js';
import type { QuarantineReason } from './row.js';
import { WorkerRunner, inlineRunner } from './task-runner.js';
import type { TaskRunner } from './task-runner.js';
import type { WriteResult, WriteTask } from './write-phase.js';

export type { FileSummary } from './read-phase.js';

/**
 * The processing job: every raw CSV under the input folder becomes one sorted, validated CSV per
 * customer. Two phases over bounded memory, each split over worker threads:
 * 1. read: each worker streams a block of consecutive input files, validates every row,
 *    quarantines bad ones and appends good ones to hash-partitioned binary spill files;
 * 2. write: each worker takes a share of the partitions, loads one at a time, groups rows by
 *    customer, sorts them by time, lets a later object's row correct an earlier one's, quarantines
 *    a timestamp repeated inside one object and writes `<customerId>.csv`.
 * Files are read in key order, which is the drops' arrival order (README, "Raw drops").
 * Memory is bounded by one partition per worker, not by the input; descriptors by a few per worker.
 */
export interface ProcessingOptions {
  readonly inputDir: string;
  /** The customer files only: this folder is the training job's channel. */
  readonly outputDir: string;
  /** `summary.json`, `quarantine.csv` and `customers.csv` (the customer index). */
  readonly reportDir: string;
  /** Where the spill files go (a fresh folder inside, removed at the end); default the OS temp folder. */
  readonly scratchDir?: string;
  /** Spill partitions; default one per 8 MB of input, at most 512. */
  readonly partitions?: number;
  /** Worker threads; default the CPUs available (at most 8); 1 runs everything in this thread. */
  readonly workers?: number;
  /** Progress lines (rows/s); default none. */
  readonly log?: (line: string) => void;
  readonly progressIntervalMs?: number;
}

export interface ProcessingSummary {
  readonly format: 'processing-summary';
  readonly version: 1;
  readonly inputDir: string;
  readonly outputDir: string;
  readonly quarantineFile: string;
  readonly files: readonly FileSummary[];
  /** `read` = `written` + `quarantined` + `corrected`; `corrected` rows were replaced by a later object's value. */
  readonly rows: { readonly read: number; readonly written: number; readonly quarantined: number; readonly corrected: number; readonly blankLines: number };
  readonly quarantined: Partial<Record<QuarantineReason, number>>;
  readonly quarantineReasons: typeof QUARANTINE_REASONS;
  readonly customers: number;
  readonly rowsPerCustomer: { readonly min: number; readonly max: number };
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly partitions: number;
  readonly workers: number;
  readonly durationMs: number;
  readonly rowsPerSecond: number;
}

/** A problem with the input as a whole (missing, empty, nothing valid): the job fails with this message. */
export class ProcessingInputError extends Error {
  override readonly name = 'ProcessingInputError';
  readonly code = 'E_PROCESSING_INPUT';
}

export const SUMMARY_FILE = 'summary.json';
export const QUARANTINE_FILE = 'quarantine.csv';

const PARTITION_INPUT_BYTES = 8 * 1024 * 1024;
const MAX_PARTITIONS = 512;
const MAX_WORKERS = 8;

export async function processRawData(options: ProcessingOptions): Promise<ProcessingSummary> {
  const started = performance.now();
  const inputDir = path.resolve(options.inputDir);
  const files = await listCsvFiles(inputDir);
  const sizes = await Promise.all(files.map(async (file) => (await fs.promises.stat(path.join(inputDir, file))).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  if (totalBytes === 0) {
    throw new ProcessingInputError(`input is empty: the ${files.length} CSV file(s) under ${inputDir} hold no bytes; expected rows of customer_id,timestamp,consumption`);
  }
  const partitions = options.partitions ?? Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(totalBytes / PARTITION_INPUT_BYTES)));
  const workers = Math.max(1, Math.min(options.workers ?? os.availableParallelism(), MAX_WORKERS, partitions));
  const progress = new Progress(options.log ?? (() => {}), options.progressIntervalMs ?? 5000);
  const quarantineFile = path.join(options.reportDir, QUARANTINE_FILE);

  await fs.promises.mkdir(options.outputDir, { recursive: true });
  await fs.promises.mkdir(options.reportDir, { recursive: true });
  // The quarantine file exists even when the job stops early; its parts are joined at the end.
  await fs.promises.writeFile(quarantineFile, `${QUARANTINE_HEADER}\n`);
  await removeCustomerFiles(options.outputDir);
  if (options.scratchDir) await fs.promises.mkdir(options.scratchDir, { recursive: true });
  const scratch = await fs.promises.mkdtemp(path.join(options.scratchDir ?? os.tmpdir(), 'processing-spill-'));
  const runners: TaskRunner[] = workers === 1 ? [inlineRunner] : Array.from({ length: workers }, () => new WorkerRunner());
  try {
    const readTasks: ReadTask[] = blocksBySize(sizes, runners.length).map((fileIndexes, i) => ({
      inputDir,
      files,
      fileIndexes,
      spillDir: scratch,
      partitions,
      spillTag: `r${i}`,
      quarantineFile: path.join(scratch, `quarantine-read-${i}.csv`),
    }));
    const reads: ReadResult[] = await Promise.all(readTasks.map((task, i) => runners[i]!.read(task, (rows) => progress.rows(rows))));
    const fileSummaries = reads.flatMap((read) => read.files);
    const rowsRead = fileSummaries.reduce((sum, file) => sum + file.rows, 0);
    const quarantinedOnRead = fileSummaries.reduce((sum, file) => sum + file.quarantined, 0);
    if (rowsRead === 0) {
      throw new ProcessingInputError(`input is empty: the ${files.length} CSV file(s) under ${inputDir} hold no data rows; expected rows of customer_id,timestamp,consumption`);
    }
    progress.phase(`read ${rowsRead} rows from ${files.length} file(s), ${quarantinedOnRead} quarantined; writing customer files`);

    const writeTasks: WriteTask[] = runners.map((_, w) => ({
      inputDir,
      files,
      spillDir: scratch,
      partitions: Array.from({ length: partitions }, (_, p) => p).filter((p) => p % runners.length === w),
      spillTags: readTasks.map((task) => task.spillTag),
      outputDir: options.outputDir,
      quarantineFile: path.join(scratch, `quarantine-write-${w}.csv`),
    }));
    const writes: WriteResult[] = await Promise.all(writeTasks.map((task, w) => runners[w]!.write(task, (customers) => progress.customers(customers))));
    await concatenateQuarantine(quarantineFile, [...readTasks, ...writeTasks].map((task) => task.quarantineFile));

    const duplicates = new Map<number, number>();
    for (const write of writes) for (const [fileIndex, count] of write.duplicatesPerFile) duplicates.set(fileIndex, (duplicates.get(fileIndex) ?? 0) + count);
    const summaries = fileSummaries.map((summary, fileIndex) => ({ ...summary, quarantined: summary.quarantined + (duplicates.get(fileIndex) ?? 0) }));
    const customers = writes.reduce((sum, write) => sum + write.customers, 0);
    const rowsWritten = writes.reduce((sum, write) => sum + write.rows, 0);
    const corrected = writes.reduce((sum, write) => sum + write.corrected, 0);
    const quarantined = mergeCounts([...reads, ...writes].map((result) => result.quarantined));
    const quarantinedRows = Object.values(quarantined).reduce((a, b) => a + b, 0);
    if (customers === 0) {
      throw new ProcessingInputError(`no valid rows: all ${rowsRead} data rows under ${inputDir} were rejected; see ${quarantineFile} for each row and reason`);
    }
    const durationMs = performance.now() - started;
    const summary: ProcessingSummary = {
      format: 'processing-summary',
      version: 1,
      inputDir,
      outputDir: path.resolve(options.outputDir),
      quarantineFile,
      files: summaries,
      rows: { read: rowsRead, written: rowsWritten, quarantined: quarantinedRows, corrected, blankLines: reads.reduce((sum, read) => sum + read.blankLines, 0) },
      quarantined,
      quarantineReasons: QUARANTINE_REASONS,
      customers,
      rowsPerCustomer: { min: Math.min(...writes.map((write) => write.minRows)), max: Math.max(...writes.map((write) => write.maxRows)) },
      firstTimestamp: new Date(Math.min(...writes.map((write) => write.firstMs))).toISOString(),
      lastTimestamp: new Date(Math.max(...writes.map((write) => write.lastMs))).toISOString(),
      partitions,
      workers: runners.length,
      durationMs: Math.round(durationMs),
      rowsPerSecond: Math.round(rowsRead / (durationMs / 1000)),
    };
    await fs.promises.writeFile(path.join(options.reportDir, CUSTOMER_INDEX_FILE), formatCustomerIndex(writes.flatMap((write) => write.index)));
    await fs.promises.writeFile(path.join(options.reportDir, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    await Promise.all(runners.map((runner) => runner.close()));
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Splits file indexes into at most `count` blocks of consecutive files of similar total size, so
 * each block's rows, read in order, keep the input order across blocks.
 */
function blocksBySize(sizes: readonly number[], count: number): number[][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const blocks: number[][] = [[]];
  let cumulative = 0;
  sizes.forEach((size, index) => {
    const block = blocks.at(-1)!;
    if (block.length > 0 && blocks.length < count && cumulative >= (total * blocks.length) / count) blocks.push([index]);
    else block.push(index);
    cumulative += size;
  });
  return blocks;
}

function mergeCounts(counts: ReadonlyArray<Partial<Record<QuarantineReason, number>>>): Partial<Record<QuarantineReason, number>> {
  const merged: Partial<Record<QuarantineReason, number>> = {};
  for (const reason of Object.keys(QUARANTINE_REASONS) as QuarantineReason[]) {
    const total = counts.reduce((sum, count) => sum + (count[reason] ?? 0), 0);
    if (total > 0) merged[reason] = total;
  }
  return merged;
}

/** Every `.csv` file under `dir`, recursively, as sorted relative paths. */
async function listCsvFiles(dir: string): Promise<string[]> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ProcessingInputError(`input folder ${dir} does not exist; expected raw CSV files (customer_id,timestamp,consumption) in it`);
    }
    throw error;
  }
  if (!stat.isDirectory()) throw new ProcessingInputError(`input ${dir} is not a folder; expected a folder of raw CSV files`);
  const found: string[] = [];
  const walk = async (relative: string) => {
    for (const entry of await fs.promises.readdir(path.join(dir, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.name.toLowerCase().endsWith('.csv') && (entry.isFile() || (await isLinkToFile(path.join(dir, child))))) found.push(child);
    }
  };
  await walk('');
  if (found.length === 0) {
    throw new ProcessingInputError(`input is empty: no .csv files under ${dir}; expected raw CSV files (customer_id,timestamp,consumption)`);
  }
  return found.sort();
}

async function isLinkToFile(file: string): Promise<boolean> {
  return (await fs.promises.stat(file).catch(() => undefined))?.isFile() ?? false;
}

/** The output folder must hold this run's customers only: drop customer files a previous run left. */
async function removeCustomerFiles(dir: string): Promise<void> {
  for (const name of await fs.promises.readdir(dir)) {
    // Synchronous: awaiting thousands of thread-pool round trips was measured to take seconds.
    if (customerIdFromFileName(name) !== undefined) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** Rows/s and customers on stderr every few seconds of a long run. */
class Progress {
  private readonly started = performance.now();
  private lastReport = this.started;
  private rowCount = 0;
  private customerCount = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly intervalMs: number,
  ) {}

  rows(n: number): void {
    this.rowCount += n;
    this.check();
  }

  customers(n: number): void {
    this.customerCount += n;
    this.check();
  }

  phase(line: string): void {
    this.log(`processing: ${line}`);
  }

  private check(): void {
    const now = performance.now();
    if (now - this.lastReport < this.intervalMs) return;
    this.lastReport = now;
    const seconds = (now - this.started) / 1000;
    this.log(
      `processing: ${this.rowCount} rows read (${Math.round(this.rowCount / seconds)} rows/s), ${this.customerCount} customer files written, ${seconds.toFixed(1)} s`,
    );
  }
}
