import { parseTimestamp } from './timestamp.js';
import type { ParsedTimestamp } from './timestamp.js';

/**
 * Validation of one raw row (`customer_id,timestamp,consumption`). Pure: it takes the fields and
 * says either what the row means or which rule it breaks, by a stable reason code.
 */
export const QUARANTINE_REASONS = {
  csv_syntax: 'the line is not valid CSV (unbalanced quotes)',
  row_too_long: 'the line is longer than the longest row accepted',
  column_count: 'expected 3 columns: customer_id,timestamp,consumption',
  customer_id: 'customer_id is not a non-negative integer',
  timestamp: 'timestamp is not an ISO date (YYYY-MM-DD) or date-time',
  consumption_not_a_number: 'consumption is not a decimal number',
  consumption_not_finite: 'consumption is infinite or NaN',
  consumption_negative: 'consumption is negative',
  duplicate_timestamp: 'the same object already has a row for the customer at this timestamp (its first one is kept unless a later object corrects it)',
} as const;

export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

export const RAW_COLUMNS = ['customer_id', 'timestamp', 'consumption'] as const;

/** Where each raw column sits in a file's rows; files may order their columns differently. */
export interface ColumnOrder {
  readonly customerId: number;
  readonly timestamp: number;
  readonly consumption: number;
}

export const DEFAULT_COLUMN_ORDER: ColumnOrder = Object.freeze({ customerId: 0, timestamp: 1, consumption: 2 });

/** The column order a header line names, or undefined when the line is not the raw header. */
export function headerColumnOrder(fields: readonly string[]): ColumnOrder | undefined {
  if (fields.length !== RAW_COLUMNS.length) return undefined;
  const names = fields.map((field) => field.trim().toLowerCase());
  const order = {
    customerId: names.indexOf('customer_id'),
    timestamp: names.indexOf('timestamp'),
    consumption: names.indexOf('consumption'),
  };
  return Object.values(order).every((index) => index >= 0) ? order : undefined;
}

/** A valid row's values. One instance is reused for every row, so validation allocates nothing. */
export interface ValidRow {
  customerId: number;
  ms: number;
  dateOnly: boolean;
  consumption: number;
}

const NON_DECIMAL_LITERAL = /^0[xXoObB]/;
const NON_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;
/** Ids of more than 16 digits cannot be safe integers. */
const MAX_ID_DIGITS = 16;

/**
 * Parses timestamps through a small cache: raw drops repeat the same few timestamps for every
 * customer, and the cache makes the regular expression run once per distinct value.
 */
export class RowValidator {
  /** The last valid row; overwritten by the next call to `validate`. */
  readonly row: ValidRow = { customerId: 0, ms: 0, dateOnly: false, consumption: 0 };
  private readonly timestamps = new Map<string, ParsedTimestamp | null>();
  private lastText = '';
  private lastParsed: ParsedTimestamp | null = null;

  /** Undefined when the row is valid (its values are then in `row`), else the reason it is not. */
  validate(fields: readonly string[], order: ColumnOrder): QuarantineReason | undefined {
    if (fields.length !== RAW_COLUMNS.length) return 'column_count';
    const customerId = parseCustomerId(trimmed(fields[order.customerId]!));
    if (customerId === undefined) return 'customer_id';
    const time = this.timestamp(trimmed(fields[order.timestamp]!));
    if (!time) return 'timestamp';
    const valueText = trimmed(fields[order.consumption]!);
    const consumption = Number(valueText);
    // Number() also reads "", hexadecimal, octal and binary literals: none is a decimal number.
    if (Number.isNaN(consumption) || valueText === '' || NON_DECIMAL_LITERAL.test(valueText)) {
      return NON_FINITE.test(valueText) ? 'consumption_not_finite' : 'consumption_not_a_number';
    }
    if (!Number.isFinite(consumption)) return 'consumption_not_finite';
    if (consumption < 0) return 'consumption_negative';
    const row = this.row;
    row.customerId = customerId;
    row.ms = time.ms;
    row.dateOnly = time.dateOnly;
    row.consumption = consumption === 0 ? 0 : consumption;
    return undefined;
  }

  private timestamp(text: string) {
    // Raw drops written in time order repeat one timestamp for many rows in a row.
    if (text === this.lastText) return this.lastParsed;
    let parsed = this.timestamps.get(text);
    if (parsed === undefined) {
      parsed = parseTimestamp(text) ?? null;
      if (this.timestamps.size >= 100_000) this.timestamps.clear();
      this.timestamps.set(text, parsed);
    }
    this.lastText = text;
    this.lastParsed = parsed;
    return parsed;
  }
}

/** A non-negative decimal integer of at most 16 digits that is a safe integer, else undefined. */
function parseCustomerId(text: string): number | undefined {
  if (text.length === 0 || text.length > MAX_ID_DIGITS) return undefined;
  let id = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    id = id * 10 + digit;
  }
  return Number.isSafeInteger(id) ? id : undefined;
}

/** `trim()` only when there is something to trim: most fields have no spaces. */
function trimmed(text: string): string {
  return text.length > 0 && (text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32) ? text.trim() : text;
}
