/**
 * Timestamps of the raw data: ISO dates (`2022-01-01`) or date-times (`2022-01-01T05:00:00Z`,
 * `2022-01-01 05:00`, with an optional `Z` or `±HH:MM` offset; no offset means UTC). Parsing is a
 * pure function so the processing job, its tests and the training container read them alike.
 */
export interface ParsedTimestamp {
  /** Milliseconds since the epoch, UTC. */
  readonly ms: number;
  /** True when the text was a plain date: it is written back as `YYYY-MM-DD`. */
  readonly dateOnly: boolean;
}

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** The instant a raw timestamp names, or undefined when it is not a valid ISO date or date-time. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (h === undefined) return { ms: Date.UTC(year, month - 1, day), dateOnly: true };
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (zone !== undefined && zone !== 'Z') {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = zone.length > 3 ? Number(zone.slice(-2)) : 0;
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    ms -= (zone[0] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  return { ms, dateOnly: false };
}

/** The canonical text of an instant: `YYYY-MM-DD` for dates, `YYYY-MM-DDTHH:MM:SS[.sss]Z` otherwise. */
export function formatTimestamp(ms: number, dateOnly: boolean): string {
  const iso = new Date(ms).toISOString();
  if (dateOnly) return iso.slice(0, 10);
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
