import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { CUSTOMER_FILE_HEADER, customerFileName } from './customer-file.js';
import type { CustomerIndexEntry } from './customer-index.js';
import { QuarantineWriter } from './quarantine.js';
import type { QuarantineReason } from './row.js';
import { FIELD, RECORD_FIELDS, fileIndexOf, isDateOnly, orderByCustomerAndTime, partitionFile, readPartition, unpackMeta } from './spill.js';
import { formatTimestamp } from './timestamp.js';

/**
 * Phase two for a set of partitions: load one partition at a time (its parts from every read
 * task, in input order), group by customer, sort by time, resolve repeated timestamps and write
 * `<customerId>.csv`. Input order is the raw objects' key order, which is their arrival order
 * (DESIGN.md, "Raw drops"): of rows sharing a customer and timestamp, a row from a later object
 * replaces the earlier value (a correction); a second row inside the same object is ambiguous and
 * quarantined (the object's first row stands until a later object corrects it). Writes are synchronous, one descriptor at a
 * time per worker: measured here, a pool of async writes cost ~20% more CPU for no faster wall time
 * (each write is three thread-pool round trips), and the workers already overlap their writes.
 */
export interface WriteTask {
  readonly inputDir: string;
  readonly files: readonly string[];
  readonly spillDir: string;
  readonly partitions: readonly number[];
  /** The read tasks' spill tags, in input order. */
  readonly spillTags: readonly string[];
  readonly outputDir: string;
  readonly quarantineFile: string;
}

export interface WriteResult {
  customers: number;
  rows: number;
  minRows: number;
  maxRows: number;
  firstMs: number;
  lastMs: number;
  /** [file index, duplicate rows] pairs. */
  duplicatesPerFile: Array<[number, number]>;
  /** Rows whose value a later object replaced. */
  corrected: number;
  /** One entry per customer file written. */
  index: CustomerIndexEntry[];
  quarantined: Partial<Record<QuarantineReason, number>>;
}


export async function writeCustomerFiles(task: WriteTask, onCustomers: (customers: number) => void = () => {}): Promise<WriteResult> {
  const result: WriteResult = {
    customers: 0,
    rows: 0,
    minRows: Infinity,
    maxRows: 0,
    firstMs: Infinity,
    lastMs: -Infinity,
    duplicatesPerFile: [],
    corrected: 0,
    index: [],
    quarantined: {},
  };
  const duplicates = new Map<number, number>();
  const quarantine = new QuarantineWriter(task.quarantineFile);
  const sources = new SourceRows(task.inputDir, task.files);
  const stampOf = timestampTexts();
  try {
    for (const partition of task.partitions) {
      const records = readPartition(task.spillTags.map((tag) => partitionFile(task.spillDir, partition, tag)));
      const { customers, starts, order } = orderByCustomerAndTime(records);
      for (let k = 0; k < customers.length; k++) {
        let text = `${CUSTOMER_FILE_HEADER}\n`;
        let rows = 0;
        let lastMs = NaN;
        // The row that stands for `lastMs` so far; written once the next timestamp comes.
        let kept = -1;
        const writeKept = () => {
          text += `${stampOf(lastMs, isDateOnly(records[kept + FIELD.meta]!))},${records[kept + FIELD.consumption]!}\n`;
          rows++;
        };
        for (let j = starts[k]!; j < starts[k + 1]!; j++) {
          const at = order[j]! * RECORD_FIELDS;
          const ms = records[at + FIELD.ms]!;
          if (ms === lastMs) {
            const meta = records[at + FIELD.meta]!;
            if (fileIndexOf(meta) !== fileIndexOf(records[kept + FIELD.meta]!)) {
              result.corrected++;
              kept = at;
              continue;
            }
            const { fileIndex, byteLength } = unpackMeta(meta);
            quarantine.add(task.files[fileIndex]!, records[at + FIELD.line]!, 'duplicate_timestamp', sources.read(fileIndex, records[at + FIELD.offset]!, byteLength));
            duplicates.set(fileIndex, (duplicates.get(fileIndex) ?? 0) + 1);
            continue;
          }
          if (kept >= 0) writeKept();
          lastMs = ms;
          kept = at;
        }
        writeKept();
        const firstMs = records[order[starts[k]!]! * RECORD_FIELDS + FIELD.ms]!;
        result.customers++;
        result.rows += rows;
        result.minRows = Math.min(result.minRows, rows);
        result.maxRows = Math.max(result.maxRows, rows);
        result.firstMs = Math.min(result.firstMs, firstMs);
        result.lastMs = Math.max(result.lastMs, lastMs);
        // The text is ASCII, so hashing the string hashes the file's bytes.
        result.index.push({ customerId: customers[k]!, rows, firstMs, lastMs, sha256: createHash('sha256').update(text).digest('hex') });
        fs.writeFileSync(path.join(task.outputDir, customerFileName(customers[k]!)), text);
        if (result.customers % 256 === 0) onCustomers(256);
      }
    }
    onCustomers(result.customers % 256);
  } finally {
    sources.close();
    quarantine.close();
  }
  result.duplicatesPerFile = [...duplicates];
  result.quarantined = quarantine.counts;
  return result;
}

/** Formats each distinct timestamp once: a data set repeats the same few for every customer. */
function timestampTexts(): (ms: number, dateOnly: boolean) => string {
  const texts = new Map<number, string>();
  return (ms, dateOnly) => {
    const key = dateOnly ? -ms - 1 : ms;
    let text = texts.get(key);
    if (text === undefined) {
      if (texts.size >= 100_000) texts.clear();
      text = formatTimestamp(ms, dateOnly);
      texts.set(key, text);
    }
    return text;
  };
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
