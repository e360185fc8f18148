import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';

/**
 * Reads one customer's file from the processing job (`<customerId>.csv`, header
 * `timestamp,consumption`, one row per timestamp) into the daily series Prophet is fitted on.
 * Read defensively: a file written by hand or by an older processing job may have no header, a
 * `customer_id` column, rows out of order or sub-daily rows.
 */

export const DAY_SECONDS = 86_400;

export interface DailySeries {
  /** Day starts in unix seconds (UTC midnight), strictly increasing. */
  ds: number[];
  /** Consumption per day (the sum of the day's rows). */
  y: number[];
  /** Data rows read from the file. */
  rows: number;
}

export class CustomerFileError extends Error {
  override name = 'CustomerFileError';
}

/** What the processing job writes: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`. */
const PLAIN_UTC = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})Z)?$/;

/**
 * The processing job's own formats without luxon, whose general ISO parser dominated reading a
 * file: a 365-row customer file took ≈ 2.5 CPU ms (≈ 10 ms while a fresh worker warms up) and
 * takes ≈ 1 ms (≈ 3 ms) this way, measured on the seed's files. A small share of a customer's
 * ≈ 85 ms, but free. Returns undefined for anything else, including impossible dates (left to
 * luxon to refuse).
 */
function parsePlainUtc(text: string): number | undefined {
  if (text.length === 10) return plainDate(text);
  const match = PLAIN_UTC.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  const exact =
    back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day &&
    back.getUTCHours() === hour && back.getUTCMinutes() === minute && back.getUTCSeconds() === second;
  return exact ? ms / 1000 : undefined;
}

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD` from its character codes (a regular expression per row cost ≈ 0.3 ms a file). */
function plainDate(text: string): number | undefined {
  let year = 0;
  let month = 0;
  let day = 0;
  for (let i = 0; i < 10; i++) {
    const code = text.charCodeAt(i);
    if (i === 4 || i === 7) {
      if (code !== 45) return undefined;
      continue;
    }
    const digit = code - 48;
    if (digit < 0 || digit > 9) return undefined;
    if (i < 4) year = year * 10 + digit;
    else if (i < 7) month = month * 10 + digit;
    else day = day * 10 + digit;
  }
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const length = month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
  // Date.UTC reads years 0–99 as 1900–1999: those are left to luxon, as before.
  if (length === undefined || day < 1 || day > length || year < 100) return undefined;
  return Date.UTC(year, month - 1, day) / 1000;
}

/** ISO date or date-time (UTC unless it carries an offset), SQL-style date-time, or unix seconds. */
export function parseTimestamp(text: string): number | undefined {
  const trimmed = text.trim();
  const plain = parsePlainUtc(trimmed);
  if (plain !== undefined) return plain;
  if (/^-?\d+(\.\d+)?$/.test(trimmed) && trimmed.length >= 9) return Number(trimmed);
  let time = DateTime.fromISO(trimmed, { zone: 'utc', setZone: true });
  if (!time.isValid) time = DateTime.fromSQL(trimmed, { zone: 'utc', setZone: true });
  return time.isValid ? time.toSeconds() : undefined;
}

function columnsOf(header: readonly string[]): { time: number; value: number } | undefined {
  const names = header.map((h) => h.trim().toLowerCase());
  const time = names.findIndex((n) => n === 'timestamp' || n === 'ds' || n === 'date' || n === 'time');
  const value = names.findIndex((n) => n === 'consumption' || n === 'y' || n === 'value');
  return time >= 0 && value >= 0 ? { time, value } : undefined;
}

/** A data line as the processing job writes it: no quotes, no spaces, two fields. */
const PLAIN_LINE = /^[0-9T:Z-]+,[0-9.eE+-]+$/;

/**
 * The records of a file in exactly the processing job's layout (header `timestamp,consumption`,
 * then PLAIN_LINE lines), split without csv-parse, which gives the same records for such text at
 * ≈ 4× the cost (≈ 0.5 ms of a 365-line file). Undefined for anything else.
 */
function plainRecords(text: string): string[][] | undefined {
  const lines = text.split('\n');
  const records: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    if (records.length === 0 ? line !== 'timestamp,consumption' : !PLAIN_LINE.test(line)) return undefined;
    const comma = line.indexOf(',');
    records.push([line.slice(0, comma), line.slice(comma + 1)]);
  }
  return records;
}

/** Parses a customer file's text. `name` is used in error messages. */
export function parseCustomerCsv(text: string, name: string): DailySeries {
  let records: string[][];
  try {
    records = plainRecords(text) ?? (parse(text, { skip_empty_lines: true, relax_column_count: true, trim: true }) as string[][]);
  } catch (error) {
    throw new CustomerFileError(`${name}: not a readable CSV (${(error as Error).message})`);
  }
  if (records.length === 0) throw new CustomerFileError(`${name}: the file is empty; expected a header timestamp,consumption and one row per timestamp`);
  const first = records[0] as string[];
  let columns = columnsOf(first);
  let start = 1;
  if (!columns) {
    // No header: `timestamp,consumption`, or the raw layout `customer_id,timestamp,consumption`.
    if (first.length === 2) columns = { time: 0, value: 1 };
    else if (first.length === 3) columns = { time: 1, value: 2 };
    else throw new CustomerFileError(`${name}: line 1 has ${first.length} columns; expected a header timestamp,consumption`);
    start = parseTimestamp(first[columns.time] ?? '') === undefined ? 1 : 0;
  }
  const width = first.length;
  const points: { t: number; y: number; line: number }[] = [];
  for (let i = start; i < records.length; i++) {
    const row = records[i] as string[];
    const line = i + 1;
    if (row.length !== width) throw new CustomerFileError(`${name}: line ${line} has ${row.length} columns, expected ${width}`);
    const t = parseTimestamp(row[columns.time] ?? '');
    if (t === undefined) throw new CustomerFileError(`${name}: line ${line}: ${JSON.stringify(row[columns.time])} is not a timestamp (expected ISO 8601, e.g. 2022-01-31)`);
    const y = Number(row[columns.value]);
    if ((row[columns.value] ?? '') === '' || !Number.isFinite(y) || y < 0) {
      throw new CustomerFileError(`${name}: line ${line}: consumption ${JSON.stringify(row[columns.value])} is not a finite number >= 0`);
    }
    points.push({ t, y, line });
  }
  if (points.length === 0) throw new CustomerFileError(`${name}: the file has a header but no rows`);
  points.sort((a, b) => a.t - b.t || a.line - b.line);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as (typeof points)[number];
    const b = points[i] as (typeof points)[number];
    if (a.t === b.t) throw new CustomerFileError(`${name}: lines ${a.line} and ${b.line} have the same timestamp`);
  }
  return toDaily(points, name);
}

/**
 * Sums rows per UTC day. With sub-daily rows the first and last days may be partial (a file
 * starting at 13:00): those are dropped when they have fewer rows than the typical day.
 */
function toDaily(points: readonly { t: number; y: number }[], name: string): DailySeries {
  const days = new Map<number, { y: number; count: number }>();
  for (const { t, y } of points) {
    const day = Math.floor(t / DAY_SECONDS) * DAY_SECONDS;
    const entry = days.get(day);
    if (entry) {
      entry.y += y;
      entry.count += 1;
    } else {
      days.set(day, { y, count: 1 });
    }
  }
  const entries = [...days.entries()];
  const counts = entries.map(([, e]) => e.count).sort((a, b) => a - b);
  const typical = counts[Math.floor(counts.length / 2)] ?? 1;
  if (typical > 1) {
    while (entries.length > 0 && (entries[0] as [number, { count: number }])[1].count < typical) entries.shift();
    while (entries.length > 0 && (entries.at(-1) as [number, { count: number }])[1].count < typical) entries.pop();
  }
  if (entries.length === 0) throw new CustomerFileError(`${name}: no complete day of data`);
  return { ds: entries.map(([d]) => d), y: entries.map(([, e]) => e.y), rows: points.length };
}
