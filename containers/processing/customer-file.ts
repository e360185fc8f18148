import fs from 'node:fs/promises';
import path from 'node:path';
import { parseTimestamp } from './timestamp.js';

/**
 * The per-customer file: the processing job's output and the training container's input.
 *
 * Name: `<customerId>.csv` (the id as a plain decimal integer, no leading zeros), one file per
 * customer, flat in the `customer-data` folder, and nothing else in that folder.
 * Content (UTF-8, `\n` line ends):
 * ```
 * timestamp,consumption
 * 2022-01-01,920.9495609067337
 * 2022-01-02,920.6582296428281
 * ```
 * - the header line is always present;
 * - `timestamp` is `YYYY-MM-DD` when the raw row had a date, else an ISO UTC date-time
 *   `YYYY-MM-DDTHH:MM:SSZ` (`.sss` only when there are milliseconds);
 * - `consumption` is a finite, non-negative number in JavaScript's shortest round-trip form;
 * - rows are strictly increasing in time: no duplicate timestamps, at least one row.
 *
 * `parseCustomerCsv` / `readCustomerFile` read it back and reject anything else with a message.
 */
export const CUSTOMER_FILE_HEADER = 'timestamp,consumption';

export interface CustomerRow {
  /** Milliseconds since the epoch, UTC. */
  readonly ms: number;
  /** The timestamp as written (`YYYY-MM-DD` or ISO date-time). */
  readonly timestamp: string;
  readonly consumption: number;
}

export function customerFileName(customerId: number): string {
  return `${customerId}.csv`;
}

/** The customer id a file name stands for, or undefined when the name is not `<id>.csv`. */
export function customerIdFromFileName(name: string): number | undefined {
  const match = /^(0|[1-9]\d{0,15})\.csv$/.exec(path.basename(name));
  if (!match) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

export class CustomerFileError extends Error {
  override readonly name = 'CustomerFileError';
  readonly code = 'E_CUSTOMER_FILE';
}

/** Parses a customer file's text; `source` names the file in error messages. */
export function parseCustomerCsv(text: string, source: string): CustomerRow[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0]?.replace(/\r$/, '') !== CUSTOMER_FILE_HEADER) {
    throw new CustomerFileError(`${source}: line 1 must be the header "${CUSTOMER_FILE_HEADER}", found "${(lines[0] ?? '').slice(0, 80)}"`);
  }
  const rows: CustomerRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const fields = line.split(',');
    const fail = (what: string) => new CustomerFileError(`${source}: line ${i + 1} ${what}, found "${line.slice(0, 80)}"`);
    if (fields.length !== 2) throw fail('must have 2 columns (timestamp,consumption)');
    const time = parseTimestamp(fields[0]!);
    if (!time) throw fail('must start with an ISO date or date-time');
    const consumption = Number(fields[1]);
    if (fields[1] === '' || !Number.isFinite(consumption) || consumption < 0) throw fail('must end with a non-negative number');
    if (rows.length > 0 && time.ms <= rows.at(-1)!.ms) throw fail('must come strictly after the line before it');
    rows.push({ ms: time.ms, timestamp: fields[0]!, consumption });
  }
  if (rows.length === 0) throw new CustomerFileError(`${source}: has a header but no rows`);
  return rows;
}

export async function readCustomerFile(file: string): Promise<CustomerRow[]> {
  return parseCustomerCsv(await fs.readFile(file, 'utf8'), file);
}
