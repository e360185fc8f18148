import { parseTimestamp } from './timestamp.js';

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
  duplicate_timestamp: 'the customer already has a row at this timestamp (the first one is kept)',
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

export interface ValidRow {
  readonly valid: true;
  readonly customerId: number;
  readonly ms: number;
  readonly dateOnly: boolean;
  readonly consumption: number;
}

export interface InvalidRow {
  readonly valid: false;
  readonly reason: QuarantineReason;
}

const NON_DECIMAL_LITERAL = /^0[xXoObB]/;
const NON_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;
const CUSTOMER_ID = /^\d{1,16}$/;

/**
 * Parses timestamps through a small cache: raw drops repeat the same few timestamps for every
 * customer, and the cache makes the regular expression run once per distinct value.
 */
export class RowValidator {
  private readonly timestamps = new Map<string, { ms: number; dateOnly: boolean } | null>();

  validate(fields: readonly string[], order: ColumnOrder): ValidRow | InvalidRow {
    if (fields.length !== RAW_COLUMNS.length) return { valid: false, reason: 'column_count' };
    const idText = fields[order.customerId]!.trim();
    if (!CUSTOMER_ID.test(idText) || !Number.isSafeInteger(Number(idText))) return { valid: false, reason: 'customer_id' };
    const time = this.timestamp(fields[order.timestamp]!.trim());
    if (!time) return { valid: false, reason: 'timestamp' };
    const valueText = fields[order.consumption]!.trim();
    const consumption = Number(valueText);
    // Number() also reads "", hexadecimal, octal and binary literals: none is a decimal number.
    if (Number.isNaN(consumption) || valueText === '' || NON_DECIMAL_LITERAL.test(valueText)) {
      return { valid: false, reason: NON_FINITE.test(valueText) ? 'consumption_not_finite' : 'consumption_not_a_number' };
    }
    if (!Number.isFinite(consumption)) return { valid: false, reason: 'consumption_not_finite' };
    if (consumption < 0) return { valid: false, reason: 'consumption_negative' };
    return { valid: true, customerId: Number(idText), ms: time.ms, dateOnly: time.dateOnly, consumption: consumption === 0 ? 0 : consumption };
  }

  private timestamp(text: string) {
    let parsed = this.timestamps.get(text);
    if (parsed === undefined) {
      parsed = parseTimestamp(text) ?? null;
      if (this.timestamps.size >= 100_000) this.timestamps.clear();
      this.timestamps.set(text, parsed);
    }
    return parsed;
  }
}
