import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsvLines } from './csv-lines.js';
import { CUSTOMER_FILE_HEADER, customerFileName, customerIdFromFileName } from './customer-file.js';
import { QuarantineWriter } from './quarantine.js';
import { DEFAULT_COLUMN_ORDER, QUARANTINE_REASONS, RowValidator, headerColumnOrder } from './row.js';
import type { ColumnOrder, QuarantineReason } from './row.js';
import { FIELD, PartitionSpill, RECORD_FIELDS, isDateOnly, orderByCustomerAndTime, packMeta, readPartition, unpackMeta } from './spill.js';
import { formatTimestamp } from './timestamp.js';

/**
 * The processing job: every raw CSV under the input folder becomes one sorted, validated CSV per
 * customer. Two passes over bounded memory:
 * 1. read each file as a stream, validate every row, quarantine bad ones, and append good ones to
 *    hash-partitioned binary spill files (no file stays open between flushes);
 * 2. per partition, group rows by customer, sort by time, quarantine duplicate timestamps, and
 *    write `<customerId>.csv` through a bounded pool of concurrent writes.
 */
export interface ProcessingOptions {
  readonly inputDir: string;
  /** The customer files only: this folder is the training job's channel. */
  readonly outputDir: string;
  /** `summary.json` and `quarantine.csv`. */
  readonly reportDir: string;
  /** Where the spill files go (a fresh folder inside, removed at the end); default the OS temp folder. */
  readonly scratchDir?: string;
  /** Spill partitions; default one per 8 MB of input, at most 512. */
  readonly partitions?: number;
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
  readonly rows: { readonly read: number; readonly written: number; readonly quarantined: number; readonly blankLines: number };
  readonly quarantined: Partial<Record<QuarantineReason, number>>;
  readonly quarantineReasons: typeof QUARANTINE_REASONS;
  readonly customers: number;
  readonly rowsPerCustomer: { readonly min: number; readonly max: number };
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly partitions: number;
  readonly durationMs: number;
  readonly rowsPerSecond: number;
}

export interface FileSummary {
  /** Relative to the input folder. */
  readonly file: string;
  readonly bytes: number;
  readonly rows: number;
  readonly quarantined: number;
  readonly header: boolean;
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
const WRITE_CONCURRENCY = 8;

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
  const progress = new Progress(options.log ?? (() => {}), options.progressIntervalMs ?? 5000);

  await fs.promises.mkdir(options.outputDir, { recursive: true });
  await fs.promises.mkdir(options.reportDir, { recursive: true });
  await removeCustomerFiles(options.outputDir);
  const scratch = await fs.promises.mkdtemp(path.join(options.scratchDir ?? os.tmpdir(), 'processing-spill-'));
  const quarantine = new QuarantineWriter(path.join(options.reportDir, QUARANTINE_FILE));
  try {
    const spill = new PartitionSpill(scratch, partitions);
    const fileSummaries: FileSummary[] = [];
    let blankLines = 0;
    const validator = new RowValidator();
    for (const [fileIndex, file] of files.entries()) {
      let order: ColumnOrder | undefined;
      let header = false;
      let rows = 0;
      const quarantinedBefore = quarantine.rowCount;
      const stats = await readCsvLines(path.join(inputDir, file), {
        row(fields, line, raw, offset, byteLength) {
          if (order === undefined) {
            const named = headerColumnOrder(fields);
            order = named ?? DEFAULT_COLUMN_ORDER;
            header = named !== undefined;
            if (header) return;
          }
          rows++;
          const reason = validator.validate(fields, order);
          if (reason === undefined) {
            const { customerId, ms, consumption, dateOnly } = validator.row;
            spill.add(customerId, ms, consumption, line, offset, packMeta(fileIndex, byteLength, dateOnly));
          } else {
            quarantine.add(file, line, reason, raw);
          }
          progress.rows(1);
        },
        malformed(reason, line, raw) {
          order ??= DEFAULT_COLUMN_ORDER;
          rows++;
          quarantine.add(file, line, reason, raw);
        },
      });
      blankLines += stats.blankLines;
      fileSummaries.push({ file, bytes: stats.bytes, rows, quarantined: quarantine.rowCount - quarantinedBefore, header });
    }
    spill.flushAll();
    const rowsRead = fileSummaries.reduce((sum, file) => sum + file.rows, 0);
    if (rowsRead === 0) {
      throw new ProcessingInputError(`input is empty: the ${files.length} CSV file(s) under ${inputDir} hold no data rows; expected rows of customer_id,timestamp,consumption`);
    }
    progress.phase(`read ${rowsRead} rows from ${files.length} file(s), ${quarantine.rowCount} quarantined; writing customer files`);

    const written = await writeCustomerFiles(spill, options.outputDir, files, inputDir, quarantine, progress);
    for (const [fileIndex, duplicates] of written.duplicatesPerFile) {
      const summary = fileSummaries[fileIndex]!;
      fileSummaries[fileIndex] = { ...summary, quarantined: summary.quarantined + duplicates };
    }
    quarantine.close();
    if (written.customers === 0) {
      throw new ProcessingInputError(
        `no valid rows: all ${rowsRead} data rows under ${inputDir} were rejected; see ${quarantine.file} for each row and reason`,
      );
    }
    const durationMs = performance.now() - started;
    const summary: ProcessingSummary = {
      format: 'processing-summary',
      version: 1,
      inputDir,
      outputDir: path.resolve(options.outputDir),
      quarantineFile: quarantine.file,
      files: fileSummaries,
      rows: { read: rowsRead, written: written.rows, quarantined: quarantine.rowCount, blankLines },
      quarantined: quarantine.counts,
      quarantineReasons: QUARANTINE_REASONS,
      customers: written.customers,
      rowsPerCustomer: { min: written.minRows, max: written.maxRows },
      firstTimestamp: new Date(written.firstMs).toISOString(),
      lastTimestamp: new Date(written.lastMs).toISOString(),
      partitions,
      durationMs: Math.round(durationMs),
      rowsPerSecond: Math.round(rowsRead / (durationMs / 1000)),
    };
    await fs.promises.writeFile(path.join(options.reportDir, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    quarantine.close();
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

interface WrittenCustomers {
  customers: number;
  rows: number;
  minRows: number;
  maxRows: number;
  firstMs: number;
  lastMs: number;
  duplicatesPerFile: Map<number, number>;
}

async function writeCustomerFiles(
  spill: PartitionSpill,
  outputDir: string,
  files: readonly string[],
  inputDir: string,
  quarantine: QuarantineWriter,
  progress: Progress,
): Promise<WrittenCustomers> {
  const result: WrittenCustomers = {
    customers: 0,
    rows: 0,
    minRows: Infinity,
    maxRows: 0,
    firstMs: Infinity,
    lastMs: -Infinity,
    duplicatesPerFile: new Map(),
  };
  // Creating thousands of files waits on the file system more than on the CPU: keep a few writes
  // in flight while the next customers are sorted, within a fixed number of descriptors.
  const writes = new WritePool(WRITE_CONCURRENCY);
  const sources = new SourceRows(inputDir, files);
  const stamps = new Map<number, string>();
  const stampOf = (ms: number, dateOnly: boolean) => {
    const key = dateOnly ? -ms - 1 : ms;
    let text = stamps.get(key);
    if (text === undefined) {
      if (stamps.size >= 100_000) stamps.clear();
      text = formatTimestamp(ms, dateOnly);
      stamps.set(key, text);
    }
    return text;
  };
  try {
    for (const file of spill.files) {
      const records = readPartition(file);
      const { customers, starts, order } = orderByCustomerAndTime(records);
      for (let k = 0; k < customers.length; k++) {
        let text = `${CUSTOMER_FILE_HEADER}\n`;
        let rows = 0;
        let lastMs = NaN;
        for (let j = starts[k]!; j < starts[k + 1]!; j++) {
          const at = order[j]! * RECORD_FIELDS;
          const ms = records[at + FIELD.ms]!;
          const metaValue = records[at + FIELD.meta]!;
          if (ms === lastMs) {
            const meta = unpackMeta(metaValue);
            const raw = sources.read(meta.fileIndex, records[at + FIELD.offset]!, meta.byteLength);
            quarantine.add(files[meta.fileIndex]!, records[at + FIELD.line]!, 'duplicate_timestamp', raw);
            result.duplicatesPerFile.set(meta.fileIndex, (result.duplicatesPerFile.get(meta.fileIndex) ?? 0) + 1);
            continue;
          }
          lastMs = ms;
          text += `${stampOf(ms, isDateOnly(metaValue))},${records[at + FIELD.consumption]!}\n`;
          rows++;
        }
        const first = records[order[starts[k]!]! * RECORD_FIELDS + FIELD.ms]!;
        result.customers++;
        result.rows += rows;
        result.minRows = Math.min(result.minRows, rows);
        result.maxRows = Math.max(result.maxRows, rows);
        result.firstMs = Math.min(result.firstMs, first);
        result.lastMs = Math.max(result.lastMs, lastMs);
        await writes.add(fs.promises.writeFile(path.join(outputDir, customerFileName(customers[k]!)), text));
        progress.customers(1);
      }
    }
    await writes.drain();
  } finally {
    sources.close();
  }
  if (result.customers === 0) result.minRows = 0;
  return result;
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

/** Reads a row's raw text back from its source file (only duplicates need it), with few descriptors open. */
class SourceRows {
  private readonly open = new Map<number, number>();

  constructor(
    private readonly inputDir: string,
    private readonly files: readonly string[],
  ) {}

  read(fileIndex: number, offset: number, byteLength: number): string {
    let fd = this.open.get(fileIndex);
    if (fd === undefined) {
      if (this.open.size >= 8) this.close();
      fd = fs.openSync(path.join(this.inputDir, this.files[fileIndex]!), 'r');
      this.open.set(fileIndex, fd);
    }
    const bytes = Buffer.alloc(byteLength);
    fs.readSync(fd, bytes, 0, byteLength, offset);
    return bytes.toString('utf8');
  }

  close(): void {
    for (const fd of this.open.values()) fs.closeSync(fd);
    this.open.clear();
  }
}

/** At most `limit` writes in flight; the first failure fails the job. */
class WritePool {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly limit: number) {}

  async add(write: Promise<void>): Promise<void> {
    const tracked: Promise<void> = write.then(
      () => {
        this.inFlight.delete(tracked);
      },
      (error: unknown) => {
        this.inFlight.delete(tracked);
        this.failure ??= error;
      },
    );
    this.inFlight.add(tracked);
    if (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Rows/s and customers on stderr every few seconds of a long run. */
class Progress {
  private readonly started = performance.now();
  private lastReport = this.started;
  private rowCount = 0;
  private customerCount = 0;
  private sinceCheck = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly intervalMs: number,
  ) {}

  rows(n: number): void {
    this.rowCount += n;
    if ((this.sinceCheck += n) >= 16_384) this.check();
  }

  customers(n: number): void {
    this.customerCount += n;
    if ((this.sinceCheck += 64) >= 16_384) this.check();
  }

  phase(line: string): void {
    this.log(`processing: ${line}`);
  }

  private check(): void {
    this.sinceCheck = 0;
    const now = performance.now();
    if (now - this.lastReport < this.intervalMs) return;
    this.lastReport = now;
    const seconds = (now - this.started) / 1000;
    this.log(
      `processing: ${this.rowCount} rows read (${Math.round(this.rowCount / seconds)} rows/s), ${this.customerCount} customer files written, ${seconds.toFixed(1)} s`,
    );
  }
}
