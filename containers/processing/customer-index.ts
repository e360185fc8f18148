/**
 * The customer index: one line per customer file the processing job wrote, so the pipeline can
 * decide who to retrain and who has left without downloading any customer file.
 *
 * Name: `customers.csv` in the job's report folder. Content (UTF-8, `\n` line ends):
 * ```
 * customer_id,rows,first_timestamp,last_timestamp,sha256
 * 0,365,2022-01-01T00:00:00.000Z,2022-12-31T00:00:00.000Z,9f2c…
 * ```
 * - `sha256` is the SHA-256 (hex) of the customer file's bytes: the same hash the training
 *   container records as the model's `source.sha256`;
 * - timestamps are ISO UTC date-times of the customer's first and last row;
 * - lines are in ascending customer id order.
 */
export const CUSTOMER_INDEX_FILE = 'customers.csv';
export const CUSTOMER_INDEX_HEADER = 'customer_id,rows,first_timestamp,last_timestamp,sha256';

export interface CustomerIndexEntry {
  readonly customerId: number;
  readonly rows: number;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly sha256: string;
}

export class CustomerIndexError extends Error {
  override readonly name = 'CustomerIndexError';
  readonly code = 'E_CUSTOMER_INDEX';
}

export function formatCustomerIndex(entries: readonly CustomerIndexEntry[]): string {
  const lines = [...entries]
    .sort((a, b) => a.customerId - b.customerId)
    .map((e) => `${e.customerId},${e.rows},${new Date(e.firstMs).toISOString()},${new Date(e.lastMs).toISOString()},${e.sha256}`);
  return `${[CUSTOMER_INDEX_HEADER, ...lines].join('\n')}\n`;
}

/** Parses an index; `source` names it in error messages. */
export function parseCustomerIndex(text: string, source: string): CustomerIndexEntry[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== CUSTOMER_INDEX_HEADER) {
    throw new CustomerIndexError(`${source}: line 1 must be the header "${CUSTOMER_INDEX_HEADER}", found "${(lines[0] ?? '').slice(0, 80)}"`);
  }
  return lines.slice(1).map((line, i) => {
    const [id, rows, first, last, sha256, ...extra] = line.split(',');
    const entry = { customerId: Number(id), rows: Number(rows), firstMs: Date.parse(first ?? ''), lastMs: Date.parse(last ?? ''), sha256: sha256 ?? '' };
    const valid =
      extra.length === 0 &&
      /^\d+$/.test(id ?? '') &&
      Number.isSafeInteger(entry.customerId) &&
      Number.isSafeInteger(entry.rows) &&
      entry.rows > 0 &&
      Number.isFinite(entry.firstMs) &&
      Number.isFinite(entry.lastMs) &&
      /^[0-9a-f]{64}$/.test(entry.sha256);
    if (!valid) throw new CustomerIndexError(`${source}: line ${i + 2} must be ${CUSTOMER_INDEX_HEADER} (an id, a positive row count, two ISO times, a hex SHA-256), found "${line.slice(0, 120)}"`);
    return entry;
  });
}
