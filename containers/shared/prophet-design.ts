import { Prophet } from '@bsull/augurs/prophet';
import type { ProphetSettings, SeasonalitySetting } from './model-artifact.js';
import type { StanData } from './prophet-map.js';

/**
 * Prophet's optimizer input (Stan's data block) for linear or flat growth with additive
 * seasonalities, built directly in typed arrays the way augurs 0.10 builds it
 * (crates/augurs-prophet/src/prophet/prep.rs: `preprocess`, `setup_dataframe`,
 * `initialize_scales`, `set_auto_seasonalities`, `fourier_series`, `get_changepoints`), value for
 * value: the same scaling of y and t, the same changepoints over the first `changepointRange` of the
 * history, the same Fourier values (augurs' own, cached per date: see `fourierCache`). Fits from it store the
 * same column identities and data hash as fits through augurs, so replay and serving do not change
 * (test/containers/prophet-design.test.ts compares the two on many settings). Building it takes
 * ≈ 0.1 ms for a year of daily data; augurs' preprocessing and the JSON round trip of its input took
 * ≈ 3 ms a fit.
 */

/** Stan's data block with X held column by column (`columns[j][i]` is X[i][j]). */
export interface ProphetDesign {
  T: number;
  S: number;
  K: number;
  /** 0 linear, 1 logistic, 2 flat. */
  trend_indicator: number;
  tau: number;
  y: Float64Array;
  t: Float64Array;
  cap: Float64Array;
  t_change: Float64Array;
  columns: Float64Array[];
  s_a: Float64Array;
  s_m: Float64Array;
  sigmas: Float64Array;
}

/** One Fourier seasonality: period in days and order (2·order columns: sin, cos of each harmonic). */
export interface Seasonal {
  period: number;
  order: number;
}

/** What predicting at new times needs besides the parameters. */
export interface DesignScales {
  /** First history time (unix seconds) and history span (seconds): t = (ds − start) / tScale. */
  start: number;
  tScale: number;
  /** y_scaled = (y − floor) / yScale. */
  yScale: number;
  floor: number;
  seasonals: Seasonal[];
  /** Scaled changepoint times (Prophet's changepoints_t; [0] when there are none). */
  changepointsT: Float64Array;
}

export interface DesignedHistory {
  design: ProphetDesign;
  scales: DesignScales;
}

const DAY_SECONDS = 24 * 60 * 60;
const WEEK_SECONDS = 7 * DAY_SECONDS;
const YEAR_SECONDS = 365.25 * DAY_SECONDS;
const TREND_INDICATOR = { linear: 0, flat: 2 } as const;

/** Stan's data block as augurs hands it to its optimizer, column by column. */
export function designOfStanData(data: StanData): ProphetDesign {
  // One pass over the rows: K passes with a callback per value took ≈ 1 ms of a replay.
  const columns = Array.from({ length: data.K }, () => new Float64Array(data.X.length));
  data.X.forEach((row, i) => {
    for (let j = 0; j < data.K; j++) (columns[j] as Float64Array)[i] = row[j] ?? Number.NaN;
  });
  return {
    T: data.T,
    S: data.S,
    K: data.K,
    trend_indicator: data.trend_indicator,
    tau: data.tau,
    y: Float64Array.from(data.y),
    t: Float64Array.from(data.t),
    cap: Float64Array.from(data.cap),
    t_change: Float64Array.from(data.t_change),
    columns,
    s_a: Float64Array.from(data.s_a),
    s_m: Float64Array.from(data.s_m),
    sigmas: Float64Array.from(data.sigmas),
  };
}

/** augurs' `handle_seasonality_opt`: the Fourier order, or undefined when the seasonality is off. */
function seasonalOrder(setting: SeasonalitySetting, autoDisabled: boolean, defaultOrder: number): number | undefined {
  switch (setting.type) {
    case 'auto':
      return autoDisabled ? undefined : defaultOrder;
    case 'manual':
      return setting.enabled ? defaultOrder : undefined;
    case 'fourier':
      return setting.order;
  }
}

/** The seasonalities augurs adds for these settings and this history (`set_auto_seasonalities`). */
function seasonalsOf(ds: readonly number[], settings: ProphetSettings): Seasonal[] {
  let minDiff = Infinity;
  for (let i = 1; i < ds.length; i++) minDiff = Math.min(minDiff, (ds[i] as number) - (ds[i - 1] as number));
  const range = (ds.at(-1) as number) - (ds[0] as number);
  const seasonals: Seasonal[] = [];
  const add = (period: number, order: number | undefined) => {
    if (order !== undefined) seasonals.push({ period, order });
  };
  add(365.25, seasonalOrder(settings.yearlySeasonality, range < 2 * YEAR_SECONDS, 10));
  add(7, seasonalOrder(settings.weeklySeasonality, range < 2 * WEEK_SECONDS || minDiff >= WEEK_SECONDS, 3));
  add(1, seasonalOrder(settings.dailySeasonality, range < 2 * DAY_SECONDS || minDiff >= DAY_SECONDS, 4));
  return seasonals;
}

/** augurs' name for each seasonality this builder knows (Prophet's three built-in ones). */
const SEASONAL_OPTION = { 365.25: 'yearlySeasonality', 7: 'weeklySeasonality', 1: 'dailySeasonality' } as const;

/**
 * Fourier values by seasonality (`period:order`) and time: each row holds augurs' own values
 * (sin 1, cos 1, sin 2, cos 2, …) at that time. JavaScript's Math.sin and the libm compiled into
 * augurs' WebAssembly differ in the last bit for a few arguments, and replay needs the very values
 * augurs computes (column identities, data hash); so the values come from augurs, once per time and
 * thread: the customers of a night share their dates, and a history's holdout part is a prefix of it.
 */
const fourierCache = new Map<string, Map<number, Float64Array>>();
/** Rows kept per seasonality before the cache starts over (≈ 27 years of daily dates). */
const FOURIER_CACHE_LIMIT = 10_000;

/** augurs' Fourier values of one seasonality at `ds`, read from the optimizer input it builds. */
function augursFourierRows(ds: readonly number[], seasonal: Seasonal): Float64Array[] {
  const option = SEASONAL_OPTION[seasonal.period as keyof typeof SEASONAL_OPTION];
  const off = { type: 'manual', enabled: false } as const;
  // augurs needs two distinct times; a second one, a second later, is dropped again below.
  const times = ds.length === 1 ? [ds[0] as number, (ds[0] as number) + 1] : [...ds];
  let captured: StanData | undefined;
  const capture = {
    optimize: (_init: unknown, dataJson: string): never => {
      captured = JSON.parse(dataJson) as StanData;
      throw new Error('captured');
    },
  };
  const prophet = new Prophet({
    optimizer: capture,
    growth: 'linear',
    nChangepoints: 0,
    yearlySeasonality: off,
    weeklySeasonality: off,
    dailySeasonality: off,
    [option]: { type: 'fourier', order: seasonal.order },
    seasonalityMode: 'additive',
    uncertaintySamples: 0,
  });
  try {
    prophet.fit({ ds: times, y: times.map(() => 0) });
  } catch (error) {
    if (!captured) throw error;
  } finally {
    prophet.free();
  }
  const data = captured as StanData;
  if (data.K !== 2 * seasonal.order || data.X.length !== times.length) {
    throw new Error(`augurs built ${data.K} Fourier columns for ${times.length} times; expected ${2 * seasonal.order} for ${ds.length}`);
  }
  return ds.map((_, i) => Float64Array.from(data.X[i] as number[]));
}

/**
 * The Fourier columns of `seasonals` at times `ds` (unix seconds), per seasonality sin 1, cos 1,
 * sin 2, cos 2, …, with augurs' values (see `fourierCache`). Needs `initProphet`. The columns
 * may be shared with other callers: read them, never write into them.
 */
export function fourierColumns(ds: ArrayLike<number>, seasonals: readonly Seasonal[]): Float64Array[] {
  const key = seasonals.map((s) => `${s.period}:${s.order}`).join(',');
  const recent = recentColumns.find((r) => r.key === key && sameTimes(r.ds, ds));
  if (recent) return [...recent.columns];
  const columns = assembleColumns(ds, seasonals);
  recentColumns.unshift({ key, ds: Float64Array.from(ds), columns: [...columns] });
  recentColumns.length = Math.min(recentColumns.length, RECENT_COLUMNS);
  return columns;
}

/**
 * The last few column sets handed out, by seasonalities and times: a night's customers mostly
 * share their dates, so most designs reuse one set (read-only: nothing writes into the columns).
 */
const recentColumns: { key: string; ds: Float64Array; columns: Float64Array[] }[] = [];
const RECENT_COLUMNS = 4;

function sameTimes(a: Float64Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function assembleColumns(ds: ArrayLike<number>, seasonals: readonly Seasonal[]): Float64Array[] {
  const n = ds.length;
  const columns: Float64Array[] = [];
  for (const seasonal of seasonals) {
    const key = `${seasonal.period}:${seasonal.order}`;
    let rows = fourierCache.get(key);
    if (!rows || rows.size > FOURIER_CACHE_LIMIT) fourierCache.set(key, (rows = new Map()));
    const missing: number[] = [];
    for (let i = 0; i < n; i++) if (!rows.has(ds[i] as number)) missing.push(ds[i] as number);
    if (missing.length > 0) {
      const fresh = augursFourierRows([...new Set(missing)], seasonal);
      [...new Set(missing)].forEach((d, i) => rows.set(d, fresh[i] as Float64Array));
    }
    const block = Array.from({ length: 2 * seasonal.order }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const row = rows.get(ds[i] as number) as Float64Array;
      for (let c = 0; c < block.length; c++) (block[c] as Float64Array)[i] = row[c] as number;
    }
    columns.push(...block);
  }
  return columns;
}

/**
 * Builds the optimizer input augurs would build for `history` under `settings`, or says why this
 * builder does not apply (then fit through augurs): multiplicative seasonality, or a history augurs
 * would first reorder, filter or refuse (fewer than 2 points, times not strictly increasing whole
 * seconds, non-finite values).
 */
export function buildProphetDesign(history: { ds: readonly number[]; y: readonly number[] }, settings: ProphetSettings): DesignedHistory | { unsupported: string } {
  if (settings.seasonalityMode !== 'additive') return { unsupported: 'multiplicative seasonality' };
  const { ds, y } = history;
  const n = ds.length;
  if (n < 2 || y.length !== n) return { unsupported: `a history of ${n} times and ${y.length} values` };
  for (let i = 0; i < n; i++) {
    const d = ds[i] as number;
    if (!Number.isSafeInteger(d) || (i > 0 && d <= (ds[i - 1] as number)) || !Number.isFinite(y[i] as number)) {
      return { unsupported: 'times that are not strictly increasing whole seconds, or non-finite values' };
    }
  }

  // initialize_scales (no logistic floor) and setup_dataframe.
  let floor = 0;
  let yScale: number;
  if (settings.scaling === 'absMax') {
    yScale = 0;
    for (let i = 0; i < n; i++) yScale = Math.max(yScale, Math.abs(y[i] as number));
  } else {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      min = Math.min(min, y[i] as number);
      max = Math.max(max, y[i] as number);
    }
    floor = min;
    yScale = max - min;
  }
  if (yScale === 0) yScale = 1;
  const start = ds[0] as number;
  const tScale = (ds[n - 1] as number) - start;
  const t = new Float64Array(n);
  const yScaled = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = ((ds[i] as number) - start) / tScale;
    yScaled[i] = ((y[i] as number) - floor) / yScale;
  }

  // make_all_features: Fourier columns, or one zero column when there are none.
  const seasonals = seasonalsOf(ds, settings);
  let columns = fourierColumns(ds, seasonals);
  const dummy = columns.length === 0;
  if (dummy) columns = [new Float64Array(n)];
  const K = columns.length;
  const sigmas = new Float64Array(K).fill(dummy ? 1 : settings.seasonalityPriorScale);
  const sA = new Float64Array(K).fill(dummy ? 0 : 1);

  // get_changepoints.
  const histSize = Math.floor(n * settings.changepointRange);
  if (histSize < 1) return { unsupported: `a changepoint range covering no point (${n} points × ${settings.changepointRange})` };
  const nChangepoints = Math.min(settings.nChangepoints, histSize - 1);
  const tChange = new Float64Array(Math.max(nChangepoints, 1));
  for (let i = 1; i <= nChangepoints; i++) {
    const index = Math.round((i / nChangepoints) * (histSize - 1));
    tChange[i - 1] = ((ds[index] as number) - start) / tScale;
  }

  return {
    design: {
      T: n,
      S: tChange.length,
      K,
      trend_indicator: TREND_INDICATOR[settings.growth],
      tau: settings.changepointPriorScale,
      y: yScaled,
      t,
      cap: new Float64Array(n),
      t_change: tChange,
      columns,
      s_a: sA,
      s_m: new Float64Array(K),
      sigmas,
    },
    scales: { start, tScale, yScale, floor, seasonals, changepointsT: tChange },
  };
}
