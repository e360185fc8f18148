import { DateTime } from 'luxon';
import type { PublishingRules } from '../config/publishing-rules.js';
import { countDecisions, type CustomerOutcome } from './decisions.js';
import { compareCustomerIds, type Manifest } from './manifest.js';
import { RUN_ID_FORMAT } from './run-id.js';

/**
 * The run-level stop rules (DESIGN.md, "Publishing rule"): pure checks on what processing, the
 * gate and the merged manifest say. A broken rule is a `RunStopError`; the run exits 1 and its
 * report carries the code and the reason.
 */

export const STOP_CODES = {
  quarantined: 'E_TOO_MANY_QUARANTINED',
  noValidModels: 'E_NO_VALID_MODELS',
  rejected: 'E_TOO_MANY_REJECTED',
  stale: 'E_TOO_MANY_STALE',
} as const;

export type StopCode = (typeof STOP_CODES)[keyof typeof STOP_CODES];

export class RunStopError extends Error {
  override readonly name = 'RunStopError';
  constructor(
    readonly code: StopCode,
    message: string,
  ) {
    super(message);
  }
}

export interface QuarantineShare {
  readonly rows: number;
  readonly totalRows: number;
  readonly share: number;
}

/** Quarantined raw rows over all rows read; a stop when over `maxQuarantinedFraction`. */
export function checkQuarantine(rows: { read: number; quarantined: number }, rules: Pick<PublishingRules, 'maxQuarantinedFraction'>): { quarantine: QuarantineShare; stop?: RunStopError } {
  const share = rows.read > 0 ? rows.quarantined / rows.read : 0;
  const quarantine = { rows: rows.quarantined, totalRows: rows.read, share: round(share) };
  if (share <= rules.maxQuarantinedFraction) return { quarantine };
  return {
    quarantine,
    stop: new RunStopError(
      STOP_CODES.quarantined,
      `processing quarantined ${rows.quarantined} of ${rows.read} raw rows (${percent(share)}), more than the allowed ${percent(rules.maxQuarantinedFraction)}; nothing was trained or published`,
    ),
  };
}

/**
 * No valid model at all, or too large a share of rejected plus failed customers: publish nothing.
 * The share is of every customer the run serves or judged, unchanged ones included (as the
 * RejectedOrFailedShare metric counts it): with incremental training, two customers retrained and
 * rejected on a night when 998 did not change are 0.2 %, not 100 %.
 */
export function checkDecisions(outcomes: readonly CustomerOutcome[], rules: Pick<PublishingRules, 'maxRejectedFraction'>): RunStopError | undefined {
  const counts = countDecisions(outcomes);
  const judged = counts.accepted + counts.rejected + counts.failed;
  if (judged === 0) return undefined;
  if (counts.failed === judged && counts.unchanged === 0) {
    return new RunStopError(STOP_CODES.noValidModels, `none of the run's ${judged} customers has a valid new model; nothing was published`);
  }
  const served = judged + counts.unchanged;
  const share = (counts.rejected + counts.failed) / served;
  if (share <= rules.maxRejectedFraction) return undefined;
  return new RunStopError(
    STOP_CODES.rejected,
    `${counts.rejected} rejected and ${counts.failed} failed of ${served} customers (${percent(share)}), more than the allowed ${percent(rules.maxRejectedFraction)}; nothing was published and every customer keeps its model`,
  );
}

export interface StaleModel {
  readonly customerId: string;
  readonly runId: string;
  readonly ageDays: number;
}

export interface StaleReport {
  readonly maxModelAgeDays: number;
  readonly customers: readonly StaleModel[];
  /** Age of the oldest served model; undefined for an empty manifest. */
  readonly oldestModelAgeDays: number | undefined;
  readonly stop?: RunStopError;
}

/**
 * Ages are whole nights between the run and the run that trained the served model, both read from
 * run ids in the schedule's time zone (so a rerun of an old night is judged as of that night).
 * A customer in `upToDate` (the run carried its model over because its data and settings did not
 * change) is served by a model of its newest data, whatever its age, so it is never stale: a
 * customer whose data stops arriving leaves through the drop rule instead.
 */
export function staleModels(
  manifest: Manifest,
  runId: string,
  timeZone: string,
  rules: Pick<PublishingRules, 'maxModelAgeDays' | 'maxStaleFraction'>,
  upToDate: ReadonlySet<string> = new Set(),
): StaleReport {
  const now = runTime(runId, undefined, timeZone);
  const customers: StaleModel[] = [];
  let oldest: number | undefined;
  const ids = Object.keys(manifest.models);
  for (const customerId of ids) {
    const entry = manifest.models[customerId]!;
    const ageDays = Math.max(0, Math.floor(now.diff(runTime(entry.runId, entry.trainedAt, timeZone), 'days').days));
    oldest = Math.max(oldest ?? 0, ageDays);
    if (ageDays > rules.maxModelAgeDays && !upToDate.has(customerId)) customers.push({ customerId, runId: entry.runId, ageDays });
  }
  customers.sort((a, b) => compareCustomerIds(a.customerId, b.customerId));
  const report = { maxModelAgeDays: rules.maxModelAgeDays, customers, oldestModelAgeDays: oldest };
  const share = ids.length > 0 ? customers.length / ids.length : 0;
  if (share <= rules.maxStaleFraction) return report;
  return {
    ...report,
    stop: new RunStopError(
      STOP_CODES.stale,
      `${customers.length} of ${ids.length} customers (${percent(share)}) are served by a model older than ${rules.maxModelAgeDays} days, more than the allowed ${percent(rules.maxStaleFraction)}`,
    ),
  };
}

function runTime(runId: string, fallbackIso: string | undefined, timeZone: string): DateTime {
  const parsed = DateTime.fromFormat(runId, RUN_ID_FORMAT, { zone: timeZone });
  if (parsed.isValid || fallbackIso === undefined) return parsed;
  return DateTime.fromISO(fallbackIso, { zone: timeZone });
}

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(3))} %`;
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}
