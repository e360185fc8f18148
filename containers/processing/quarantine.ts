import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { QuarantineReason } from './row.js';

/**
 * The quarantine file: every rejected row with where it came from and why, as CSV with header
 * `file,line,reason,raw` (`file` relative to the input folder, `line` 1-based). Written through one
 * descriptor with a buffer, since a bad input can reject millions of rows. Each task of the job
 * writes its own part; `concatenateQuarantine` joins them under one header.
 */
export const QUARANTINE_HEADER = 'file,line,reason,raw';
const FLUSH_CHARS = 256 * 1024;

export class QuarantineWriter {
  private readonly fd: number;
  private pending = '';
  readonly counts: Partial<Record<QuarantineReason, number>> = {};
  private total = 0;
  private closed = false;

  /** Writes a part, headerless, to be appended to the file that has the header. */
  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  get rowCount(): number {
    return this.total;
  }

  add(file: string, line: number, reason: QuarantineReason, raw: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    this.total++;
    this.pending += `${csvField(file)},${line},${reason},${csvField(raw)}\n`;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
  }

  /** Flushes and closes; later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    if (this.pending) fs.writeSync(this.fd, this.pending);
    this.pending = '';
  }
}

/** RFC 4180 quoting: quote a field holding a comma, quote, CR or LF; double inner quotes. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Writes `file` as the header followed by each part, in order. */
export async function concatenateQuarantine(file: string, parts: readonly string[]): Promise<void> {
  await fs.promises.writeFile(file, `${QUARANTINE_HEADER}\n`);
  for (const part of parts) {
    await pipeline(fs.createReadStream(part), fs.createWriteStream(file, { flags: 'a' }));
  }
}
