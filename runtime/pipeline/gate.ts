import type { PublishingRules } from '../config/publishing-rules.js';
import type { CustomerOutcome } from './decisions.js';
import { compareCustomerIds, type Manifest, type ManifestEntry } from './manifest.js';

/**
 * The quality gate (DESIGN.md, "Publishing rule"): a run's new model of a customer (the challenger)
 * replaces the served one (the champion) only if, in this order,
 * 1. its holdout error is finite;
 * 2. its forecast over the next `gateHorizonDays` is finite, non-negative where the whole history is,
 *    and within the history's [min, max] widened by `gateSanityBand` ranges on each side;
 * 3. its holdout MAE is at most the seasonal-naive MAE on the same holdout × (1 + `gateBaselineTolerance`);
 * 4. its holdout MAE is at most the champion's recorded holdout MAE × (1 + `gateChampionTolerance`).
 * Every comparison allows `gateErrorFloor` × the holdout's mean level on top, so that noise-free
 * series, whose errors are near zero, are not judged on rounding. Without a champion (first night,
 * new customer) rule 4 is skipped.
 *
 * Rule 4 compares recorded holdout errors, not the champion re-scored on the challenger's holdout:
 * the artifact keeps only the champion's refit on all of its history, which covers every holdout day
 * but the ones added since its night, so its error there is in-sample and would reject normal
 * nights. Both recorded errors are out-of-sample errors of the same procedure on holdouts that share
 * all but the newly arrived days (the very same days when a night is rerun on the same data).
 */

export type GateSettings = Pick<PublishingRules, 'gateBaselineTolerance' | 'gateChampionTolerance' | 'gateErrorFloor' | 'gateSanityBand'>;

/** What the gate knows of a challenger, read from its artifact (see `gate-evidence.ts`). */
export interface ChallengerEvidence {
  /** Holdout MAE of the model fitted without the holdout days. */
  readonly mae: number;
  /** MAE of the seasonal-naive forecast on the same holdout days. */
  readonly seasonalNaiveMae: number;
  /** Mean absolute consumption over the holdout days: the scale of the error floor. */
  readonly holdoutLevel: number;
  readonly historyMin: number;
  readonly historyMax: number;
  /** Point forecasts (`yhat`) of the next days after the history. */
  readonly forecast: readonly number[];
}

/** Stable codes of the gate's rejections, in the order the rules are checked. */
export const GATE_CODES = {
  errorNotFinite: 'E_GATE_ERROR_NOT_FINITE',
  forecastNotFinite: 'E_GATE_FORECAST_NOT_FINITE',
  forecastNegative: 'E_GATE_FORECAST_NEGATIVE',
  forecastOutOfBand: 'E_GATE_FORECAST_OUT_OF_BAND',
  baseline: 'E_GATE_BASELINE',
  champion: 'E_GATE_CHAMPION',
} as const;

export type GateCode = (typeof GATE_CODES)[keyof typeof GATE_CODES];

export type GateVerdict = { readonly accepted: true } | { readonly accepted: false; readonly code: GateCode; readonly reason: string };

export function judgeChallenger(challenger: ChallengerEvidence, champion: ManifestEntry | undefined, settings: GateSettings): GateVerdict {
  const { mae, seasonalNaiveMae, holdoutLevel, historyMin, historyMax, forecast } = challenger;
  const reject = (code: GateCode, reason: string): GateVerdict => ({ accepted: false, code, reason });
  if (!Number.isFinite(mae) || !Number.isFinite(seasonalNaiveMae)) {
    return reject(GATE_CODES.errorNotFinite, `holdout MAE is ${mae} and seasonal-naive MAE ${seasonalNaiveMae}; expected finite errors`);
  }
  const floor = settings.gateErrorFloor * (Number.isFinite(holdoutLevel) ? holdoutLevel : 0);
  const bad = forecast.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) return reject(GATE_CODES.forecastNotFinite, `the forecast of day ${bad + 1} is ${forecast[bad]}`);
  const low = Math.min(...forecast);
  const high = Math.max(...forecast);
  if (historyMin >= 0 && low < -floor) {
    return reject(GATE_CODES.forecastNegative, `the forecast falls to ${fmt(low)} though the history never goes below 0`);
  }
  const margin = settings.gateSanityBand * (historyMax - historyMin) + floor;
  if (low < historyMin - margin || high > historyMax + margin) {
    return reject(
      GATE_CODES.forecastOutOfBand,
      `the forecast spans [${fmt(low)}, ${fmt(high)}], outside the history's [${fmt(historyMin)}, ${fmt(historyMax)}] widened by ${settings.gateSanityBand} ranges to [${fmt(historyMin - margin)}, ${fmt(historyMax + margin)}]`,
    );
  }
  const baselineLimit = seasonalNaiveMae * (1 + settings.gateBaselineTolerance) + floor;
  if (mae > baselineLimit) {
    return reject(
      GATE_CODES.baseline,
      `holdout MAE ${fmt(mae)} is worse than the seasonal-naive ${fmt(seasonalNaiveMae)} beyond the tolerance of ${pct(settings.gateBaselineTolerance)} (limit ${fmt(baselineLimit)})`,
    );
  }
  const championMae = champion?.metrics.mae;
  if (champion !== undefined && typeof championMae === 'number') {
    const championLimit = championMae * (1 + settings.gateChampionTolerance) + floor;
    if (mae > championLimit) {
      return reject(
        GATE_CODES.champion,
        `holdout MAE ${fmt(mae)} is worse than the served model's (run ${champion.runId}) ${fmt(championMae)} beyond the tolerance of ${pct(settings.gateChampionTolerance)} (limit ${fmt(championLimit)})`,
      );
    }
  }
  return { accepted: true };
}

function fmt(value: number): string {
  return Number(value.toPrecision(4)).toString();
}

function pct(share: number): string {
  return `${Number((share * 100).toPrecision(4))} %`;
}

/**
 * The gate over one run: each valid challenger is judged against the customer's entry in the
 * current manifest; customers without a valid model are failed. Every customer keeps its current
 * entry (if any) unless accepted.
 */
export function gateRun(args: {
  readonly runId: string;
  readonly challengers: Readonly<Record<string, ManifestEntry>>;
  readonly evidence: Readonly<Record<string, ChallengerEvidence>>;
  readonly failures: readonly { readonly customerId: string; readonly code: string; readonly reason: string }[];
  readonly current: Manifest | undefined;
  readonly settings: GateSettings;
}): { accepted: Record<string, ManifestEntry>; outcomes: CustomerOutcome[] } {
  const accepted: Record<string, ManifestEntry> = {};
  const outcomes: CustomerOutcome[] = [];
  const served = (customerId: string) => {
    const runId = args.current?.models[customerId]?.runId;
    return runId === undefined ? {} : { servedRunId: runId };
  };
  for (const [customerId, entry] of Object.entries(args.challengers)) {
    const evidence = args.evidence[customerId];
    if (evidence === undefined) throw new Error(`the gate has no evidence about customer ${customerId}'s model ${entry.targetModel}`);
    const verdict = judgeChallenger(evidence, args.current?.models[customerId], args.settings);
    if (verdict.accepted) {
      accepted[customerId] = entry;
      outcomes.push({ customerId, decision: 'accepted', servedRunId: args.runId });
    } else {
      outcomes.push({ customerId, decision: 'rejected', code: verdict.code, reason: verdict.reason, ...served(customerId) });
    }
  }
  for (const failure of args.failures) {
    outcomes.push({ customerId: failure.customerId, decision: 'failed', code: failure.code, reason: failure.reason, ...served(failure.customerId) });
  }
  outcomes.sort((a, b) => compareCustomerIds(a.customerId, b.customerId));
  return { accepted, outcomes };
}
