import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Prophet, initSync } from '@bsull/augurs/prophet';
import type { ProphetAlgorithm, ProphetOptimizeOptions, ProphetOptimizeOutput, ProphetOptions } from '@bsull/augurs/prophet';
import { ModelArtifactError, historyHash } from './model-artifact.js';
import type { ModelDocument, ModelFit, ProphetSettings } from './model-artifact.js';
import { buildProphetDesign, designOfStanData } from './prophet-design.js';
import type { ProphetDesign } from './prophet-design.js';
import { exactMapUnsupported, solveDesignMap, solveProphetMap } from './prophet-map.js';
import type { FitOptimizer, MapParameters, MapSolution, StanData } from './prophet-map.js';
import { predictDesigned } from './prophet-predict.js';

/**
 * Prophet through `@bsull/augurs` (WebAssembly). Two ways to get a model:
 * - `fitProphet`: a real fit with the Stan optimizer, recording what the optimizer returned;
 * - `replayModel`: rebuilds a stored fit without the optimizer (≈ 1–2 ms), mapping coefficients
 *   to design-matrix columns by identity and refusing a model whose data does not match.
 * See reference/prophet-augurs.md for why both are done this way.
 */

let prophetReady: Promise<void> | undefined;

/** Loads augurs' Prophet WebAssembly once per thread. */
export function initProphet(): Promise<void> {
  // The package's exports map hides the .wasm file from require.resolve: locate it beside prophet.js.
  // initSync, not the async init: the async one probes the Request and Response globals, which
  // makes Node load its fetch implementation (≈ 90 ms of CPU in every worker thread).
  prophetReady ??= (async () => {
    const wasm = new URL('prophet_bg.wasm', import.meta.resolve('@bsull/augurs/prophet'));
    initSync({ module: await readFile(wasm) });
  })();
  return prophetReady;
}

type StanOptimizer = (typeof import('@bsull/augurs-prophet-wasmstan'))['optimizer'];
let stanOptimizer: StanOptimizer | undefined;

/**
 * Loads Prophet and augurs' Stan optimizer (≈ 0.4 s of CPU a thread). A thread that only fits
 * additive linear or flat models with `optimizer: 'auto'` can do with `initProphet`: `fitProphet`
 * then throws `StanNotLoadedError` for a fit that turns out to need Stan.
 */
export async function initProphetFitting(): Promise<void> {
  await initProphet();
  stanOptimizer ??= (await import('@bsull/augurs-prophet-wasmstan')).optimizer;
}

/** `fitProphet` needed augurs' Stan optimizer and `initProphetFitting` has not loaded it. */
export class StanNotLoadedError extends Error {
  override name = 'StanNotLoadedError';
}

export interface ForecastPoint {
  /** `YYYY-MM-DD` for daily models, a full ISO time otherwise. */
  date: string;
  yhat: number;
  yhat_lower: number;
  yhat_upper: number;
}

export interface ForecastModel {
  /** Forecasts `period` steps after the end of the history (days, for daily models). */
  forecast(period: number): ForecastPoint[];
  /** Frees the WebAssembly object: the model cannot be used afterwards. */
  free(): void;
}

export interface History {
  ds: readonly number[];
  y: readonly number[];
}

function float64Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float64Array.from(values).buffer);
}

/** The identity of each design-matrix column: its values and how it enters the model. */
function columnIdentities(data: ProphetDesign): string[] {
  const ids: string[] = [];
  for (let j = 0; j < data.K; j++) {
    const column = data.columns[j] as Float64Array;
    const role = float64Bytes([data.s_a[j] ?? Number.NaN, data.s_m[j] ?? Number.NaN, data.sigmas[j] ?? Number.NaN]);
    const roleKey = role.toString();
    // Designs share column arrays (prophet-design.ts): hash each shared column once per role.
    let known = identityCache.get(column);
    if (!known) identityCache.set(column, (known = new Map()));
    let id = known.get(roleKey);
    if (id === undefined) {
      const hash = createHash('sha256');
      hash.update(new Uint8Array(column.buffer, column.byteOffset, column.byteLength));
      hash.update(role);
      id = hash.digest('hex').slice(0, 32);
      known.set(roleKey, id);
    }
    ids.push(id);
  }
  return ids;
}

/** Column identities by column array and role (a column's values never change once built). */
const identityCache = new WeakMap<Float64Array, Map<string, string>>();

/** Hash of the optimizer input with the design-matrix columns taken as a set (their order varies). */
function stanDataHash(data: ProphetDesign, columns: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(float64Bytes([data.T, data.S, data.K, data.trend_indicator, data.tau]));
  for (const series of [data.y, data.t, data.cap, data.t_change]) {
    hash.update(float64Bytes([series.length]));
    hash.update(float64Bytes(series));
  }
  for (const id of [...columns].sort()) hash.update(id);
  return hash.digest('hex');
}

function parseStanData(json: string): StanData {
  const data = JSON.parse(json) as StanData;
  if (!Array.isArray(data.X) || data.X.length !== data.T) {
    throw new Error(`unexpected optimizer input: X has ${Array.isArray(data.X) ? data.X.length : 'no'} rows for T=${data.T}`);
  }
  return data;
}

function prophetOptions(settings: ProphetSettings, optimizer: ProphetOptions['optimizer'], uncertaintySamples: number): ProphetOptions {
  return {
    optimizer,
    growth: settings.growth,
    nChangepoints: settings.nChangepoints,
    changepointRange: settings.changepointRange,
    changepointPriorScale: settings.changepointPriorScale,
    yearlySeasonality: settings.yearlySeasonality,
    weeklySeasonality: settings.weeklySeasonality,
    dailySeasonality: settings.dailySeasonality,
    seasonalityMode: settings.seasonalityMode,
    seasonalityPriorScale: settings.seasonalityPriorScale,
    scaling: settings.scaling,
    // Intervals are only produced when intervalWidth is set explicitly.
    intervalWidth: settings.intervalWidth,
    uncertaintySamples,
  };
}

const DAY_SECONDS = 86_400;

function formatDate(ds: number, daily: boolean): string {
  const iso = new Date(ds * 1000).toISOString();
  return daily ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
}

function points(prophet: Prophet, ds: readonly number[], daily: boolean): ForecastPoint[] {
  const prediction = prophet.predict({ ds: [...ds] });
  const point = prediction.yhat.point;
  const lower = prediction.yhat.intervals?.lower ?? point;
  const upper = prediction.yhat.intervals?.upper ?? point;
  return ds.map((d, i) => ({
    date: formatDate(d, daily),
    yhat: point[i] as number,
    yhat_lower: lower[i] as number,
    yhat_upper: upper[i] as number,
  }));
}

function wrap(prophet: Prophet, daily: boolean): ForecastModel & { predictAt(ds: readonly number[]): ForecastPoint[] } {
  let freed = false;
  const live = () => {
    if (freed) throw new Error('the model was freed');
  };
  return {
    forecast(period: number): ForecastPoint[] {
      live();
      if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be a positive integer, got ${period}`);
      return points(prophet, prophet.makeFutureDataframe(period, { includeHistory: false }).ds, daily);
    },
    predictAt(ds: readonly number[]): ForecastPoint[] {
      live();
      return points(prophet, ds, daily);
    },
    free(): void {
      if (!freed) prophet.free();
      freed = true;
    },
  };
}

function isDaily(ds: readonly number[]): boolean {
  return ds.every((d) => d % DAY_SECONDS === 0);
}

export interface FittedProphet extends ForecastModel {
  /** Predicts at the given times (unix seconds), e.g. a holdout that may have gaps. */
  predictAt(ds: readonly number[]): ForecastPoint[];
  /** What the optimizer returned and what replay needs to put it back. */
  readonly fit: ModelFit;
  /** Which optimizer produced the fit. */
  readonly solver: 'exact' | 'stan';
}

/**
 * Fits Prophet (call `initProphetFitting` first, or `initProphet`: see there). With `optimizer: 'auto'` (the default) a linear
 * or flat model with additive seasonalities is built and solved without augurs' fit: the design
 * matrix from prophet-design.ts, the exact MAP from prophet-map.ts, predictions from
 * prophet-predict.ts (≈ 2 ms a fit instead of ≈ 8 ms through augurs' WebAssembly and its JSON).
 * Anything else goes through augurs with the optimizer wrapped to record its input columns and
 * output parameters for `replayModel`: exact where the model allows it, Stan otherwise, with Stan's
 * attempts as the fallback when the exact solver fails.
 */
export function fitProphet(history: History, settings: ProphetSettings, opts: { uncertaintySamples?: number; optimizer?: FitOptimizer } = {}): FittedProphet {
  if (!prophetReady) throw new Error('fitProphet: call initProphetFitting() (or initProphet()) first');
  const uncertaintySamples = opts.uncertaintySamples ?? settings.uncertaintySamples;
  if ((opts.optimizer ?? 'auto') === 'auto') {
    const designed = fitDesigned(history, settings, uncertaintySamples);
    if (designed) return designed;
  }
  if (!stanOptimizer) throw new StanNotLoadedError('fitProphet: this fit needs augurs\' Stan optimizer; call initProphetFitting() first');
  return fitThroughAugurs(history, settings, { uncertaintySamples, optimizer: opts.optimizer ?? 'auto' });
}

/** What the artifact stores for parameters fitted on `design`. */
function modelFitOf(design: ProphetDesign, params: MapParameters, history: History): ModelFit {
  const columns = columnIdentities(design);
  return {
    k: params.k,
    m: params.m,
    sigmaObs: params.sigmaObs,
    delta: Array.from(params.delta),
    beta: Array.from(params.beta),
    columns,
    dataHash: stanDataHash(design, columns),
    historyHash: historyHash(history),
  };
}

function finiteParameters(params: MapParameters): boolean {
  return [params.k, params.m, params.sigmaObs, ...Array.from(params.delta), ...Array.from(params.beta)].every(Number.isFinite);
}

/**
 * The exact fit without augurs' fit, or undefined where it does not apply (or the solver fails:
 * the caller then goes through augurs). `fit` (hashes of the design) is computed when first read,
 * so a holdout fit that only predicts does not pay for it; `forecast` replays the fit in augurs.
 */
function fitDesigned(history: History, settings: ProphetSettings, uncertaintySamples: number): FittedProphet | undefined {
  const built = buildProphetDesign(history, settings);
  if ('unsupported' in built || exactMapUnsupported(built.design) !== undefined) return undefined;
  let solution: MapSolution;
  try {
    solution = solveDesignMap(built.design);
  } catch {
    return undefined;
  }
  if (!finiteParameters(solution)) return undefined;
  const daily = isDaily(history.ds);
  let fit: ModelFit | undefined;
  let replayed: ForecastModel | undefined;
  let freed = false;
  const live = () => {
    if (freed) throw new Error('the model was freed');
  };
  const options = { growth: settings.growth, uncertaintySamples, intervalWidth: settings.intervalWidth };
  return {
    solver: 'exact',
    get fit(): ModelFit {
      fit ??= modelFitOf(built.design, solution, history);
      return fit;
    },
    predictAt(ds: readonly number[]): ForecastPoint[] {
      live();
      const { yhat, lower, upper } = predictDesigned(built.scales, solution, ds, options);
      return ds.map((d, i) => ({
        date: formatDate(d, daily),
        yhat: yhat[i] as number,
        yhat_lower: (lower ?? yhat)[i] as number,
        yhat_upper: (upper ?? yhat)[i] as number,
      }));
    },
    forecast(period: number): ForecastPoint[] {
      live();
      replayed ??= replayFit(history, settings, this.fit, 'the fitted model', uncertaintySamples);
      return replayed.forecast(period);
    },
    free(): void {
      replayed?.free();
      freed = true;
    },
  };
}

/** Fits through augurs' `Prophet.fit`, with the optimizer wrapped as described at `fitProphet`. */
function fitThroughAugurs(history: History, settings: ProphetSettings, opts: { uncertaintySamples: number; optimizer: FitOptimizer }): FittedProphet {
  const stan = stanOptimizer as StanOptimizer;
  let captured: { data: StanData; output: ProphetOptimizeOutput; solver: 'exact' | 'stan' } | undefined;
  let firstChoice: ProphetAlgorithm | 'exact' | undefined;
  const exactAllowed = opts.optimizer === 'auto';
  const recording = {
    optimize: (init: Parameters<StanOptimizer['optimize']>[0], dataJson: string, optimizeOpts: Parameters<StanOptimizer['optimize']>[2]) => {
      const data = parseStanData(dataJson);
      // The first attempt leaves the algorithm open: exact where it applies, else chosen from the data (see FIT_ATTEMPTS).
      let algorithm = optimizeOpts.algorithm;
      if (algorithm === undefined && exactAllowed && exactMapUnsupported(data) === undefined) {
        firstChoice = 'exact';
        const solution = solveProphetMap(data);
        const { k, m, sigmaObs, delta, beta } = solution;
        const output: ProphetOptimizeOutput = { logs: NO_LOGS, params: { k, m, sigmaObs, delta, beta, trend: new Float64Array(0) } };
        captured = { data, output, solver: 'exact' };
        return output;
      }
      if (algorithm === undefined) algorithm = firstChoice = linearFitResidual(data) < NEAR_EXACT_RESIDUAL ? 'bfgs' : 'lbfgs';
      const output = stan.optimize(init, dataJson, { ...optimizeOpts, algorithm }) as unknown as ProphetOptimizeOutput;
      captured = { data, output, solver: 'stan' };
      return output;
    },
  };
  const options = prophetOptions(settings, recording, opts.uncertaintySamples);
  const training = { ds: [...history.ds], y: [...history.y] };
  let prophet: Prophet | undefined;
  const failures: string[] = [];
  const [first, ...retries] = FIT_ATTEMPTS;
  for (const attempt of [first, ...retries]) {
    // A retry identical to what the first attempt chose would only fail the same way.
    const plain = attempt.options !== undefined && Object.keys(attempt.options).length === 1;
    if (attempt !== first && plain && attempt.options?.algorithm === firstChoice) continue;
    const candidate = new Prophet(options);
    try {
      candidate.fit(training, attempt.options);
      prophet = candidate;
      break;
    } catch (error) {
      candidate.free();
      failures.push(`${attemptName(attempt, attempt === first ? firstChoice : undefined)}: ${firstLine(error)}`);
    }
  }
  if (!prophet) {
    const advice = exactAllowed ? '' : '; augurs\' Stan has no Newton fallback, and optimizer=auto would solve this additive model exactly';
    throw new Error(`Prophet could not fit the series (${failures.join('; ')})${firstChoice === 'exact' || settings.seasonalityMode !== 'additive' ? '' : advice}`);
  }
  if (!captured) {
    prophet.free();
    throw new Error('Prophet finished fitting without calling the optimizer');
  }
  const { data, output, solver } = captured;
  if (!finiteParameters(output.params)) {
    prophet.free();
    throw new Error(`the optimizer returned non-finite parameters (k ${output.params.k}, m ${output.params.m}, sigma_obs ${output.params.sigmaObs}, or a coefficient)`);
  }
  const fit = modelFitOf(designOfStanData(data), output.params, history);
  return Object.assign(wrap(prophet, isDaily(history.ds)), { fit, solver });
}

function attemptName(attempt: { name: string }, choice: ProphetAlgorithm | 'exact' | undefined): string {
  if (choice === 'exact') return 'exact MAP';
  if (choice === undefined) return attempt.name;
  return `${choice === 'bfgs' ? 'BFGS' : 'L-BFGS'}, chosen by the residual`;
}

/** The useful part of augurs' nested optimizer errors (Stan's own reason when there is one). */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const stan = /terminated with error:\s*\n\s*([^\n]+)/.exec(message)?.[1];
  return (stan ?? message.split('\n')[0] ?? message).trim();
}

/**
 * The first attempt picks the algorithm from the data. On a series Prophet's terms fit almost
 * exactly (the seed's noise-free sine) the likelihood keeps rising as sigma_obs shrinks and L-BFGS,
 * Prophet's default, never meets its tolerances: it runs all 2000 iterations (≈ 140 CPU ms a fit)
 * and stops short of the optimum. BFGS (dense Hessian estimate; 42 parameters for a daily model)
 * converges by Stan's relative-gradient test in ≈ 200 iterations (≈ 40 ms) and lands closer to the
 * truth. On noisy data L-BFGS converges by itself and is the cheaper one. Measured per fit of 365
 * seed-like days (CPU ms, L-BFGS / BFGS, with the residual defined in `linearFitResidual`):
 * noise-free 232 / 66 (residual ≤ 1e-4); noise 0.1% 67 / 33 (≤ 0.013); weekly + 1% noise 46 / 42
 * (0.04–0.09); weekly + 5% noise 26 / 37 (0.18–0.43). Hence BFGS below a residual of 0.1. Over
 * holdout fit + refit (the former test/bench/training-fit.bench.ts, 60 customers, same run): seed data
 * 292 → 85 CPU ms per model, largest error against the noise-free truth 0.21% → 0.002% of the
 * mean; weekly + 5% noise 50 → 46 ms, holdout MAE unchanged (33.64 / 33.68).
 * Stan sometimes stops with "line search failed" (R and Python Prophet then retry with Newton,
 * which augurs' WebAssembly Stan cannot run: `algorithm: 'newton'` traps with "unreachable",
 * checked with @bsull/augurs-prophet-wasmstan 0.2.0). The retries recover part of such series;
 * when all fail, the customer fails with each attempt's reason. The exact solver has no such
 * failures, so with `optimizer: 'auto'` only multiplicative seasonality can hit them.
 */
const FIT_ATTEMPTS: [{ name: string; options?: ProphetOptimizeOptions }, ...{ name: string; options?: ProphetOptimizeOptions }[]] = [
  { name: 'BFGS or L-BFGS by the residual' },
  { name: 'BFGS', options: { algorithm: 'bfgs' } },
  { name: 'L-BFGS', options: { algorithm: 'lbfgs' } },
  { name: 'L-BFGS with a smaller first step', options: { algorithm: 'lbfgs', initAlpha: 1e-4 } },
  { name: 'L-BFGS with a looser gradient tolerance', options: { algorithm: 'lbfgs', tolRelGrad: 1e8 } },
];

/** Below this `linearFitResidual` the series counts as fitted almost exactly (see FIT_ATTEMPTS). */
const NEAR_EXACT_RESIDUAL = 0.1;

/**
 * How far the scaled series is from Prophet's terms without changepoints: the RMS residual of a
 * least-squares fit of y on [1, t, X], over the standard deviation of y (0 for a constant series).
 * ≈ 0.3 ms for a year of daily data.
 */
function linearFitResidual(data: StanData): number {
  const n = data.K + 2;
  const rows = data.T;
  const row = new Float64Array(n);
  const fill = (i: number) => {
    row[0] = 1;
    row[1] = data.t[i] ?? 0;
    const x = data.X[i] ?? [];
    for (let j = 0; j < data.K; j++) row[j + 2] = x[j] ?? 0;
  };
  // Normal equations [A | b], solved by Gauss-Jordan with partial pivoting.
  const a: Float64Array[] = Array.from({ length: n }, () => new Float64Array(n + 1));
  for (let i = 0; i < rows; i++) {
    fill(i);
    const y = data.y[i] ?? 0;
    for (let r = 0; r < n; r++) {
      const ar = a[r] as Float64Array;
      const v = row[r] as number;
      ar[n] = (ar[n] as number) + v * y;
      for (let c = 0; c < n; c++) ar[c] = (ar[c] as number) + v * (row[c] as number);
    }
  }
  // A small ridge keeps collinear columns (e.g. overlapping seasonalities) solvable.
  for (let r = 0; r < n; r++) (a[r] as Float64Array)[r] = ((a[r] as Float64Array)[r] as number) * (1 + 1e-10) + 1e-12;
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs((a[r] as Float64Array)[c] as number) > Math.abs((a[pivot] as Float64Array)[c] as number)) pivot = r;
    const swap = a[c] as Float64Array;
    a[c] = a[pivot] as Float64Array;
    a[pivot] = swap;
    const ac = a[c] as Float64Array;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const ar = a[r] as Float64Array;
      const f = (ar[c] as number) / (ac[c] as number);
      for (let k = c; k <= n; k++) ar[k] = (ar[k] as number) - f * (ac[k] as number);
    }
  }
  const coef = a.map((ar, r) => (ar[n] as number) / (ar[r] as number));
  let mean = 0;
  for (let i = 0; i < rows; i++) mean += data.y[i] ?? 0;
  mean /= rows;
  let residual = 0;
  let spread = 0;
  for (let i = 0; i < rows; i++) {
    fill(i);
    let fitted = 0;
    for (let j = 0; j < n; j++) fitted += (row[j] as number) * (coef[j] as number);
    const y = data.y[i] ?? 0;
    residual += (y - fitted) ** 2;
    spread += (y - mean) ** 2;
  }
  return spread > 0 ? Math.sqrt(residual / spread) : 0;
}

const NO_LOGS = { debug: '', info: '', warn: '', error: '', fatal: '' };

/**
 * Rebuilds a trained model from its document without running the optimizer. Verifies that the
 * design matrix Prophet builds from the stored history is the one the model was fitted on (data
 * hash, column identities) and that every coefficient array has the length the model expects.
 * Call `initProphet` first. Throws `ModelArtifactError` (E_MODEL_SHAPE, E_MODEL_HASH).
 */
export function replayModel(doc: ModelDocument, opts: { uncertaintySamples?: number } = {}): ForecastModel {
  if (!prophetReady) throw new Error('replayModel: call initProphet() first');
  return replayFit(doc.history, doc.prophet, doc.fit, `model ${doc.customerId} (run ${doc.runId})`, opts.uncertaintySamples ?? doc.prophet.uncertaintySamples);
}

/**
 * The point forecast `replayModel(doc, { uncertaintySamples: 0 }).forecast(period)` gives, with
 * the same checks, computed without augurs' Prophet where prophet-design.ts builds the model
 * (linear or flat growth, additive seasonalities): the design rebuilt from the stored history must
 * hash to `fit.dataHash` and the coefficients are mapped to its columns by identity, as in replay;
 * the forecast is prophet-predict.ts's, equal to augurs' up to rounding
 * (test/containers/prophet-design.test.ts). ≈ 0.5 ms a model instead of ≈ 3: augurs' replay
 * serializes its optimizer input to JSON, which is parsed back to be checked. Other models go
 * through `replayModel`. Call `initProphet` first (the Fourier values are augurs').
 */
export function replayPointForecast(doc: ModelDocument, period: number): ForecastPoint[] {
  if (!prophetReady) throw new Error('replayPointForecast: call initProphet() first');
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be a positive integer, got ${period}`);
  const built = buildProphetDesign(doc.history, doc.prophet);
  if ('unsupported' in built) {
    const replayed = replayModel(doc, { uncertaintySamples: 0 });
    try {
      return replayed.forecast(period);
    } finally {
      replayed.free();
    }
  }
  const where = `model ${doc.customerId} (run ${doc.runId})`;
  const params = storedParameters(built.design, doc.fit, where);
  const ds = futureTimes(doc.history.ds, period, where);
  const { yhat } = predictDesigned(built.scales, params, ds, { growth: doc.prophet.growth, uncertaintySamples: 0, intervalWidth: doc.prophet.intervalWidth });
  const daily = isDaily(doc.history.ds);
  return ds.map((d, i) => ({ date: formatDate(d, daily), yhat: yhat[i] as number, yhat_lower: yhat[i] as number, yhat_upper: yhat[i] as number }));
}

/**
 * The `period` times after the history, as augurs' `make_future_dataframe` makes them: steps of
 * the most common gap between the last 5 times, which must be the only most common one.
 */
function futureTimes(ds: readonly number[], period: number, where: string): number[] {
  const tail = ds.slice(-5);
  const counts = new Map<number, number>();
  for (let i = 1; i < tail.length; i++) {
    const gap = (tail[i] as number) - (tail[i - 1] as number);
    counts.set(gap, (counts.get(gap) ?? 0) + 1);
  }
  const most = Math.max(...counts.values());
  const steps = [...counts].filter(([, count]) => count === most).map(([gap]) => gap);
  if (steps.length !== 1) {
    throw new ModelArtifactError('E_MODEL_SHAPE', `${where}: cannot tell the history's frequency: its last ${tail.length} times have no single most common gap (${steps.join(', ')} s)`);
  }
  const last = ds.at(-1) as number;
  const step = steps[0] as number;
  return Array.from({ length: period }, (_, i) => last + (i + 1) * step);
}

/**
 * The stored parameters in `design`'s column order, after checking that `design` is the data the
 * model was fitted on (data hash, column identities) and that every coefficient array has the
 * length the design expects. Throws `ModelArtifactError` (E_MODEL_SHAPE, E_MODEL_HASH).
 */
function storedParameters(design: ProphetDesign, fit: ModelFit, where: string): MapParameters & { delta: Float64Array; beta: Float64Array } {
  if (fit.beta.length !== design.K || fit.columns.length !== design.K) {
    throw new ModelArtifactError('E_MODEL_SHAPE', `${where}: fit.beta has ${fit.beta.length} coefficients but the model has ${design.K} design-matrix columns`);
  }
  if (fit.delta.length !== design.S) {
    throw new ModelArtifactError('E_MODEL_SHAPE', `${where}: fit.delta has ${fit.delta.length} values but the model has ${design.S} changepoints`);
  }
  const columns = columnIdentities(design);
  if (stanDataHash(design, columns) !== fit.dataHash) {
    throw new ModelArtifactError('E_MODEL_HASH', `${where}: the data rebuilt from the stored history and options does not match fit.dataHash; refusing to replay the fit on different data`);
  }
  const stored = new Map<string, number[]>();
  fit.columns.forEach((id, i) => {
    const list = stored.get(id) ?? [];
    list.push(fit.beta[i] as number);
    stored.set(id, list);
  });
  const beta = new Float64Array(design.K);
  columns.forEach((id, j) => {
    const value = stored.get(id)?.shift();
    if (value === undefined) {
      throw new ModelArtifactError('E_MODEL_HASH', `${where}: design-matrix column ${j} matches no stored coefficient`);
    }
    beta[j] = value;
  });
  return { k: fit.k, m: fit.m, sigmaObs: fit.sigmaObs, delta: Float64Array.from(fit.delta), beta };
}

/** `replayModel` on its parts; `where` names the model in errors. */
function replayFit(history: History, settings: ProphetSettings, fit: ModelFit, where: string, uncertaintySamples: number): ForecastModel {
  let failure: ModelArtifactError | undefined;
  const replaying = {
    optimize: (_init: unknown, dataJson: string): ProphetOptimizeOutput => {
      try {
        return { logs: NO_LOGS, params: { ...storedParameters(designOfStanData(parseStanData(dataJson)), fit, where), trend: new Float64Array(0) } };
      } catch (error) {
        failure = error instanceof ModelArtifactError ? error : new ModelArtifactError('E_MODEL_SHAPE', `${where}: ${(error as Error).message}`, { cause: error });
        throw failure;
      }
    },
  };
  const prophet = new Prophet(prophetOptions(settings, replaying, uncertaintySamples));
  try {
    prophet.fit({ ds: [...history.ds], y: [...history.y] });
  } catch (error) {
    prophet.free();
    if (failure) throw failure;
    throw new ModelArtifactError('E_MODEL_SHAPE', `${where}: Prophet rejected the stored model (${(error as Error).message ?? String(error)})`, { cause: error });
  }
  return wrap(prophet, isDaily(history.ds));
}
