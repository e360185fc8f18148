import os from 'node:os';
import type { ProphetSettings, SeasonalitySetting } from '../shared/model-artifact.js';
import { FIT_OPTIMIZERS } from '../shared/prophet-map.js';
import type { FitOptimizer } from '../shared/prophet-map.js';

/**
 * The training job's hyperparameters. SageMaker passes them as a JSON object of strings in
 * `input/config/hyperparameters.json`; every one has a default suited to daily energy data.
 */
export interface TrainingSettings {
  /** Written into every model; the pipeline passes the night's run id. */
  runId: string;
  prophet: ProphetSettings;
  /** `auto`: the exact MAP solver where the model allows it, Stan otherwise; `stan`: always Stan. */
  optimizer: FitOptimizer;
  /** Last days held out to evaluate each model before it is refitted on all data. */
  holdoutDays: number;
  /** Season length of the seasonal-naive baseline the holdout error is compared with. */
  seasonalNaivePeriod: number;
  /** Fewest days of history left for fitting once the holdout is taken off. */
  minHistoryDays: number;
  /** The job fails only when more than this share of its customers failed. */
  maxFailedFraction: number;
  /** Most worker threads (default: every CPU); a host starts one per 100 customers of its shard, 20 with Stan (worker-threads.ts). */
  workers: number;
  /** Customers fitted with Stan a worker trains before it is replaced (augurs' Stan never returns memory). */
  customersPerWorker: number;
  /** A customer whose training takes longer is abandoned and recorded as failed. */
  customerTimeoutSeconds: number;
}

export class HyperparameterError extends Error {
  override name = 'HyperparameterError';
}

interface Spec {
  help: string;
  default: (env: NodeJS.ProcessEnv) => string;
}

const SPECS = {
  run_id: { help: 'run id stored in every model', default: (env) => env.TRAINING_JOB_NAME ?? 'local' },
  holdout_days: { help: 'integer >= 1', default: () => '14' },
  seasonal_naive_period: { help: 'integer >= 1 (days)', default: () => '7' },
  min_history_days: { help: 'integer >= 2', default: () => '28' },
  max_failed_fraction: { help: 'number in [0, 1]', default: () => '0.1' },
  // An upper bound: the host starts one thread per 100 customers, 20 when Stan fits them (worker-threads.ts).
  workers: { help: 'integer >= 1', default: () => String(os.availableParallelism()) },
  // Counts only customers fitted with Stan: augurs' Stan optimizer keeps ≈ 110 KB of WebAssembly
  // memory per daily fit and fits slow down as it grows: on the seed's 1000 customers (all Stan then)
  // 100 customers per worker cost 116 CPU ms a model, 200 cost 131 and 500 cost 150, although each
  // replacement thread costs ≈ 0.75 s of CPU to warm up.
  customers_per_worker: { help: 'integer >= 1', default: () => '100' },
  customer_timeout_seconds: { help: 'number > 0', default: () => '300' },
  growth: { help: 'linear or flat', default: () => 'linear' },
  n_changepoints: { help: 'integer >= 0', default: () => '25' },
  changepoint_range: { help: 'number in (0, 1)', default: () => '0.8' },
  changepoint_prior_scale: { help: 'number > 0', default: () => '0.05' },
  // Prophet would switch yearly seasonality off under two years of history: decide it here. Order 4
  // (Prophet's default is 10) keeps a one-year history from overfitting the year's shape: on the
  // seed's data with weekly pattern and noise, 14-day holdout MAE fell from ≈ 1.0× to ≈ 0.75× the
  // seasonal-naive MAE, and with two years of history it is as good as order 10.
  yearly_seasonality: { help: 'true, false, auto or a Fourier order', default: () => '4' },
  weekly_seasonality: { help: 'true, false, auto or a Fourier order', default: () => 'true' },
  daily_seasonality: { help: 'true, false, auto or a Fourier order', default: () => 'false' },
  seasonality_mode: { help: 'additive or multiplicative', default: () => 'additive' },
  seasonality_prior_scale: { help: 'number > 0', default: () => '10' },
  scaling: { help: 'absMax or minMax', default: () => 'absMax' },
  // The exact solver reaches Stan's optimum or a better one in a few ms (test/containers/prophet-map.test.ts);
  // stan keeps augurs' L-BFGS/BFGS path. Logistic growth and multiplicative terms always use Stan.
  optimizer: { help: 'auto or stan', default: () => 'auto' },
  interval_width: { help: 'number in (0, 1)', default: () => '0.8' },
  // Serving cost grows with the draws: 200 keep a 7-day forecast with intervals near 1.5 ms.
  uncertainty_samples: { help: 'integer >= 0 (0: no intervals)', default: () => '200' },
} satisfies Record<string, Spec>;

export type HyperparameterName = keyof typeof SPECS;
export const HYPERPARAMETER_NAMES = Object.keys(SPECS) as HyperparameterName[];

/**
 * Hyperparameters that steer the job, not the fitted model: a model trained under other values of
 * these is the same model, so the pipeline leaves them out of the settings hash that decides
 * whether a customer must be retrained (runtime/pipeline/training-plan.ts).
 */
export const JOB_ONLY_HYPERPARAMETERS: readonly HyperparameterName[] = ['run_id', 'max_failed_fraction', 'workers', 'customers_per_worker', 'customer_timeout_seconds'];

/** SageMaker's SDK JSON-encodes some values (`"\"14\""`): accept both forms. */
function unwrap(value: unknown, name: string): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new HyperparameterError(`hyperparameter ${name} must be a string, got ${JSON.stringify(value)}`);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      const inner: unknown = JSON.parse(value);
      if (typeof inner === 'string') return inner;
    } catch {
      // Not JSON after all: keep the string as given.
    }
  }
  return value.trim();
}

/**
 * Parses SageMaker's hyperparameters (strings) into settings. Unknown names are refused, so a typo
 * cannot silently train with a default; SageMaker's own `sagemaker_*` keys are ignored.
 */
export function parseHyperparameters(raw: unknown, env: NodeJS.ProcessEnv = process.env): TrainingSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HyperparameterError(`hyperparameters.json must hold a JSON object of strings, got ${JSON.stringify(raw)?.slice(0, 80)}`);
  }
  const given = raw as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(SPECS, k) && !k.startsWith('sagemaker_'));
  if (unknown.length > 0) {
    throw new HyperparameterError(`unknown hyperparameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; expected any of: ${HYPERPARAMETER_NAMES.join(', ')}`);
  }
  const value = (name: HyperparameterName): string => (given[name] === undefined ? SPECS[name].default(env) : unwrap(given[name], name));
  const bad = (name: HyperparameterName): HyperparameterError =>
    new HyperparameterError(`hyperparameter ${name}=${JSON.stringify(value(name))} is invalid: expected ${SPECS[name].help}`);
  const number = (name: HyperparameterName, ok: (n: number) => boolean, int = false): number => {
    const text = value(name);
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || !ok(n)) throw bad(name);
    return n;
  };
  const choice = <T extends string>(name: HyperparameterName, allowed: readonly T[]): T => {
    const text = value(name);
    if (!(allowed as readonly string[]).includes(text)) throw bad(name);
    return text as T;
  };
  const season = (name: HyperparameterName): SeasonalitySetting => {
    const text = value(name).toLowerCase();
    if (text === 'auto') return { type: 'auto' };
    if (text === 'true') return { type: 'manual', enabled: true };
    if (text === 'false') return { type: 'manual', enabled: false };
    const order = Number(text);
    if (text === '' || !Number.isInteger(order) || order < 1 || order > 100) throw bad(name);
    return { type: 'fourier', order };
  };
  const runId = value('run_id');
  if (runId === '') throw bad('run_id');

  return {
    runId,
    holdoutDays: number('holdout_days', (n) => n >= 1, true),
    seasonalNaivePeriod: number('seasonal_naive_period', (n) => n >= 1, true),
    minHistoryDays: number('min_history_days', (n) => n >= 2, true),
    maxFailedFraction: number('max_failed_fraction', (n) => n >= 0 && n <= 1),
    workers: number('workers', (n) => n >= 1 && n <= 1024, true),
    customersPerWorker: number('customers_per_worker', (n) => n >= 1, true),
    customerTimeoutSeconds: number('customer_timeout_seconds', (n) => n > 0),
    optimizer: choice('optimizer', FIT_OPTIMIZERS),
    prophet: {
      growth: choice('growth', ['linear', 'flat'] as const),
      nChangepoints: number('n_changepoints', (n) => n >= 0 && n <= 1000, true),
      changepointRange: number('changepoint_range', (n) => n > 0 && n < 1),
      changepointPriorScale: number('changepoint_prior_scale', (n) => n > 0),
      yearlySeasonality: season('yearly_seasonality'),
      weeklySeasonality: season('weekly_seasonality'),
      dailySeasonality: season('daily_seasonality'),
      seasonalityMode: choice('seasonality_mode', ['additive', 'multiplicative'] as const),
      seasonalityPriorScale: number('seasonality_prior_scale', (n) => n > 0),
      scaling: choice('scaling', ['absMax', 'minMax'] as const),
      intervalWidth: number('interval_width', (n) => n > 0 && n < 1),
      uncertaintySamples: number('uncertainty_samples', (n) => n >= 0 && n <= 100_000, true),
    },
  };
}
