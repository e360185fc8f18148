import fs from 'node:fs';
import path from 'node:path';

/**
 * Hash-partitioned spill files. Phase one appends every valid row, as six float64s, to the
 * partition of its customer (`customerId mod partitions`); phase two loads one partition at a time,
 * so memory is bounded by one partition, not by the input. Each partition has a small in-memory
 * buffer and is opened only for the moment of a flush, so the number of partitions (and of
 * customers) never costs file descriptors.
 */
export const RECORD_FIELDS = 6;
export const FIELD = { customerId: 0, ms: 1, consumption: 2, line: 3, offset: 4, meta: 5 } as const;

/** `meta` packs the source file index, the row's byte length and whether its timestamp was a plain date. */
const FILE_FACTOR = 2 ** 21;

export function packMeta(fileIndex: number, byteLength: number, dateOnly: boolean): number {
  return fileIndex * FILE_FACTOR + byteLength * 2 + (dateOnly ? 1 : 0);
}

/** The date-only flag alone, without allocating: it is read for every row written. */
export function isDateOnly(meta: number): boolean {
  return meta % 2 === 1;
}

/** The source file index alone, without allocating. */
export function fileIndexOf(meta: number): number {
  return Math.floor(meta / FILE_FACTOR);
}

export function unpackMeta(meta: number): { fileIndex: number; byteLength: number; dateOnly: boolean } {
  const fileIndex = Math.floor(meta / FILE_FACTOR);
  const rest = meta - fileIndex * FILE_FACTOR;
  return { fileIndex, byteLength: Math.floor(rest / 2), dateOnly: rest % 2 === 1 };
}

const BUFFER_RECORDS = 2048;

export class PartitionSpill {
  readonly files: readonly string[];
  private readonly buffers: Float64Array[];
  private readonly used: Uint32Array;

  constructor(
    dir: string,
    readonly partitions: number,
    tag: string,
  ) {
    this.files = Array.from({ length: partitions }, (_, i) => partitionFile(dir, i, tag));
    this.buffers = Array.from({ length: partitions }, () => new Float64Array(BUFFER_RECORDS * RECORD_FIELDS));
    this.used = new Uint32Array(partitions);
  }

  add(customerId: number, ms: number, consumption: number, line: number, offset: number, meta: number): void {
    const partition = customerId % this.partitions;
    const buffer = this.buffers[partition]!;
    let at = this.used[partition]!;
    buffer[at++] = customerId;
    buffer[at++] = ms;
    buffer[at++] = consumption;
    buffer[at++] = line;
    buffer[at++] = offset;
    buffer[at++] = meta;
    this.used[partition] = at;
    if (at === buffer.length) this.flush(partition);
  }

  /** Writes every buffer out; call once after the last row. */
  flushAll(): void {
    for (let partition = 0; partition < this.partitions; partition++) this.flush(partition);
  }

  private flush(partition: number): void {
    const used = this.used[partition]!;
    if (used === 0) return;
    const bytes = new Uint8Array(this.buffers[partition]!.buffer, 0, used * 8);
    const fd = fs.openSync(this.files[partition]!, 'a');
    try {
      fs.writeSync(fd, bytes);
    } finally {
      fs.closeSync(fd);
    }
    this.used[partition] = 0;
  }
}

/** The spill file of one partition written by one read task. */
export function partitionFile(dir: string, partition: number, tag: string): string {
  return path.join(dir, `partition-${partition}-${tag}.bin`);
}

/** One partition's records from its parts, in the order given; parts no row landed in are absent. */
export function readPartition(parts: readonly string[]): Float64Array {
  const sizes = parts.map((file) => {
    try {
      return fs.statSync(file).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  });
  const records = new Float64Array(sizes.reduce((a, b) => a + b, 0) / 8);
  const bytes = new Uint8Array(records.buffer);
  let at = 0;
  parts.forEach((file, i) => {
    const size = sizes[i]!;
    if (size === 0) return;
    const fd = fs.openSync(file, 'r');
    try {
      let read = 0;
      while (read < size) read += fs.readSync(fd, bytes, at + read, size - read, read);
    } finally {
      fs.closeSync(fd);
    }
    at += size;
  });
  return records;
}

/**
 * Record indices ordered by customer, then time, then input order (so of rows sharing a timestamp
 * the earliest object's comes first), plus where each customer's run starts. A counting sort groups
 * customers in input order; only customers whose rows arrived out of time order are sorted.
 */
export function orderByCustomerAndTime(records: Float64Array): {
  customers: number[];
  starts: Uint32Array;
  order: Uint32Array;
} {
  const count = records.length / RECORD_FIELDS;
  const perCustomer = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const id = records[i * RECORD_FIELDS + FIELD.customerId]!;
    perCustomer.set(id, (perCustomer.get(id) ?? 0) + 1);
  }
  const customers = [...perCustomer.keys()].sort((a, b) => a - b);
  const starts = new Uint32Array(customers.length + 1);
  const next = new Map<number, number>();
  customers.forEach((id, k) => {
    starts[k + 1] = starts[k]! + perCustomer.get(id)!;
    next.set(id, starts[k]!);
  });
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const id = records[i * RECORD_FIELDS + FIELD.customerId]!;
    const at = next.get(id)!;
    order[at] = i;
    next.set(id, at + 1);
  }
  const msOf = (i: number) => records[i * RECORD_FIELDS + FIELD.ms]!;
  for (let k = 0; k < customers.length; k++) {
    const run = order.subarray(starts[k]!, starts[k + 1]!);
    for (let j = 1; j < run.length; j++) {
      if (msOf(run[j]!) < msOf(run[j - 1]!)) {
        // Typed array sort is stable, so equal timestamps keep input order.
        run.sort((a, b) => msOf(a) - msOf(b));
        break;
      }
    }
  }
  return { customers, starts, order };
}
