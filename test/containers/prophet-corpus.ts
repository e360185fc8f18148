import { Prophet } from '@bsull/augurs/prophet';
import type { ProphetOptimizeOutput } from '@bsull/augurs/prophet';
import { optimizer as stanOptimizer } from '@bsull/augurs-prophet-wasmstan';
import type { ProphetSettings } from '../../containers/shared/model-artifact.js';
import type { StanData } from '../../containers/shared/prophet-map.js';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import { mulberry32 } from '../../containers/shared/seeded-random.js';

/**
 * The series the exact MAP solver is checked on against Stan, and a Stan fit that hands back its
 * own optimizer input (so both solutions are scored on the same data, same column order).
 */

export const DAY = 86_400;
const START = Date.UTC(2024, 0, 1) / 1000;

export interface Series {
  ds: number[];
  y: number[];
}

export const defaultSettings: ProphetSettings = { ...parseHyperparameters({ run_id: 'test' }, {}).prophet, uncertaintySamples: 0 };

/** Customer `id` of the seed's data set (A's generator; optionally with weekly pattern and noise). */
export function seedSeries(id: number, days: number, extra: { weekly?: number; noise?: number } = {}): Series {
  const series: Series = { ds: [], y: [] };
  for (const chunk of datasetChunks({ customers: id + 1, days, ...extra, order: 'customer' })) {
    for (const line of chunk.split('\n')) {
      const [customer, stamp, value] = line.split(',');
      if (customer !== String(id) || stamp === undefined) continue;
      series.ds.push(Date.parse(stamp) / 1000);
      series.y.push(Number(value));
    }
  }
  return series;
}

/** A deterministic pseudo-random stream for the synthetic cases. */
export const random = mulberry32;

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** `days` daily points of `f(day)` plus Gaussian noise with standard deviation `noise`. */
export function synthetic(days: number, f: (day: number) => number, noise = 0, seed = 1, step = DAY): Series {
  const next = random(seed);
  const series: Series = { ds: [], y: [] };
  for (let d = 0; d < days; d++) {
    series.ds.push(START + d * step);
    series.y.push(f((d * step) / DAY) + (noise > 0 ? noise * gaussian(next) : 0));
  }
  return series;
}

const yearly = (day: number) => Math.sin((2 * Math.PI * day) / 365.25);
const weekly = (day: number) => Math.sin((2 * Math.PI * day) / 7 + 0.3);

export interface CorpusCase {
  name: string;
  series: Series;
  settings: ProphetSettings;
}

const off = { type: 'manual', enabled: false } as const;

/** The corpus: noise-free, noisy, level shifts, trend changes, short, constant, gaps, hourly, settings' extremes. */
export function corpus(): CorpusCase[] {
  const s = defaultSettings;
  const noisy = (id: number) => seedSeries(id, 365, { weekly: 0.1, noise: 0.02 });
  const withGaps = (series: Series): Series => ({
    ds: series.ds.filter((_, i) => i % 9 !== 4 && (i < 100 || i > 130)),
    y: series.y.filter((_, i) => i % 9 !== 4 && (i < 100 || i > 130)),
  });
  const hourly = synthetic(24 * 60, (day) => 50 + 10 * Math.sin(2 * Math.PI * day) + 5 * weekly(day), 2, 7, 3600);
  return [
    { name: 'seed customer 0 (noise-free)', series: seedSeries(0, 365), settings: s },
    { name: 'seed customer 7 (noise-free)', series: seedSeries(7, 365), settings: s },
    { name: 'seed, yearly off', series: seedSeries(3, 365), settings: { ...s, yearlySeasonality: off } },
    { name: 'seed, yearly off, changepoint_prior_scale 0.001', series: seedSeries(4, 365), settings: { ...s, yearlySeasonality: off, changepointPriorScale: 0.001 } },
    { name: 'noisy weekly 1', series: noisy(1), settings: s },
    { name: 'noisy weekly 2', series: noisy(2), settings: s },
    { name: 'noisy weekly 5 (5% noise)', series: seedSeries(5, 365, { weekly: 0.1, noise: 0.05 }), settings: s },
    { name: 'noisy, two years', series: seedSeries(6, 730, { weekly: 0.1, noise: 0.02 }), settings: s },
    { name: 'trend only (no seasonality, no changepoints)', series: noisy(8), settings: { ...s, yearlySeasonality: off, weeklySeasonality: off, nChangepoints: 0 } },
    { name: 'no changepoints', series: noisy(9), settings: { ...s, nChangepoints: 0 } },
    { name: 'one changepoint', series: noisy(10), settings: { ...s, nChangepoints: 1 } },
    { name: 'changepoint_prior_scale 0.0001', series: noisy(11), settings: { ...s, changepointPriorScale: 0.0001 } },
    { name: 'changepoint_prior_scale 50', series: noisy(12), settings: { ...s, changepointPriorScale: 50 } },
    { name: 'flat growth', series: noisy(13), settings: { ...s, growth: 'flat' } },
    {
      name: 'level shift',
      series: synthetic(365, (d) => 100 + 10 * weekly(d) + 20 * yearly(d) + (d > 200 ? 40 : 0), 2, 3),
      settings: s,
    },
    {
      name: 'trend change',
      series: synthetic(365, (d) => 100 + 10 * weekly(d) + (d < 150 ? 0.2 * d : 30 - 0.3 * (d - 150)), 2, 4),
      settings: s,
    },
    { name: 'short history (42 days)', series: synthetic(42, (d) => 80 + 8 * weekly(d), 1, 5), settings: s },
    { name: 'constant series', series: synthetic(200, () => 42), settings: s },
    { name: 'all-zero series', series: synthetic(120, () => 0), settings: s },
    { name: 'gaps', series: withGaps(noisy(14)), settings: s },
    { name: 'hourly, 60 days', series: hourly, settings: { ...s, yearlySeasonality: off, dailySeasonality: { type: 'manual', enabled: true } } },
    { name: 'noise only', series: synthetic(365, () => 100, 10, 6), settings: s },
  ];
}

export interface StanFit {
  data: StanData;
  params: { k: number; m: number; sigmaObs: number; delta: Float64Array; beta: Float64Array };
  /** In-sample and `future`-step predictions of the fitted model. */
  predict(ds: readonly number[]): number[];
  free(): void;
}

/**
 * Fits with augurs' Stan optimizer as Prophet does by default (L-BFGS; BFGS if that fails) and
 * returns the optimizer's own input with its output. Undefined when Stan cannot fit the series.
 */
export function stanFit(series: Series, settings: ProphetSettings): StanFit | undefined {
  for (const algorithm of ['lbfgs', 'bfgs'] as const) {
    let captured: { data: StanData; output: ProphetOptimizeOutput } | undefined;
    const optimizer = {
      optimize: (init: Parameters<typeof stanOptimizer.optimize>[0], dataJson: string, opts: Parameters<typeof stanOptimizer.optimize>[2]) => {
        const output = stanOptimizer.optimize(init, dataJson, { ...opts, algorithm }) as unknown as ProphetOptimizeOutput;
        captured = { data: JSON.parse(dataJson) as StanData, output };
        return output;
      },
    };
    const prophet = new Prophet({ ...settings, optimizer, uncertaintySamples: 0 });
    try {
      prophet.fit({ ds: [...series.ds], y: [...series.y] });
    } catch {
      prophet.free();
      continue;
    }
    const { data, output } = captured as { data: StanData; output: ProphetOptimizeOutput };
    return {
      data,
      params: { ...output.params, delta: Float64Array.from(output.params.delta), beta: Float64Array.from(output.params.beta) },
      predict: (ds) => Array.from(prophet.predict({ ds: [...ds] }).yhat.point),
      free: () => prophet.free(),
    };
  }
  return undefined;
}
