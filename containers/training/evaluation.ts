import { DAY_SECONDS } from './customer-series.js';

/** Holdout error measures for one model, and the seasonal-naive baseline on the same points. */
export interface HoldoutErrors {
  mae: number;
  rmse: number;
  /** Σ|error| / Σ|actual| (0 when every actual is 0 and every forecast exact). */
  wape: number;
}

export function holdoutErrors(actual: readonly number[], forecast: readonly number[]): HoldoutErrors {
  if (actual.length === 0 || actual.length !== forecast.length) {
    throw new RangeError(`holdoutErrors needs equal, non-empty series (got ${actual.length} actuals, ${forecast.length} forecasts)`);
  }
  let absolute = 0;
  let squared = 0;
  let scale = 0;
  actual.forEach((a, i) => {
    const error = (forecast[i] as number) - a;
    absolute += Math.abs(error);
    squared += error * error;
    scale += Math.abs(a);
  });
  const n = actual.length;
  return { mae: absolute / n, rmse: Math.sqrt(squared / n), wape: scale > 0 ? absolute / scale : absolute > 0 ? Infinity : 0 };
}

/**
 * The seasonal-naive forecast of each holdout day: the value observed whole seasons earlier, in
 * the training part (so with `period` 7, next Monday = last Monday). With gaps in the history the
 * nearest earlier season present is used, and failing that the last training value.
 */
export function seasonalNaive(train: { ds: readonly number[]; y: readonly number[] }, holdoutDs: readonly number[], periodDays: number): number[] {
  const byTime = new Map<number, number>();
  train.ds.forEach((d, i) => byTime.set(d, train.y[i] as number));
  const first = train.ds[0] as number;
  const last = train.y.at(-1) as number;
  const step = periodDays * DAY_SECONDS;
  return holdoutDs.map((d) => {
    for (let t = d - step; t >= first; t -= step) {
      const value = byTime.get(t);
      if (value !== undefined) return value;
    }
    return last;
  });
}

/** Share of actuals within [lower, upper]. */
export function intervalCoverage(actual: readonly number[], lower: readonly number[], upper: readonly number[]): number {
  const inside = actual.filter((a, i) => a >= (lower[i] as number) && a <= (upper[i] as number)).length;
  return inside / actual.length;
}
