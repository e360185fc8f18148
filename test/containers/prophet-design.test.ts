import { Prophet } from '@bsull/augurs/prophet';
import test from 'ava';
import type { ProphetSettings } from '../../containers/shared/model-artifact.js';
import { fitProphet, initProphetFitting, replayModel, replayPointForecast } from '../../containers/shared/prophet.js';
import { buildProphetDesign, designOfStanData } from '../../containers/shared/prophet-design.js';
import type { ProphetDesign } from '../../containers/shared/prophet-design.js';
import type { StanData } from '../../containers/shared/prophet-map.js';
import { corpus, defaultSettings, seedSeries, synthetic } from './prophet-corpus.js';
import type { Series } from './prophet-corpus.js';

/**
 * The design matrix built in TypeScript (prophet-design.ts) against the optimizer input augurs
 * builds, and the predictions of prophet-predict.ts against augurs' own. Tolerances:
 * - the design: identical, bit for bit (every scalar, y, t, cap, changepoint times, and the columns
 *   with their additive/multiplicative flags and prior scales as a set: augurs' column order varies);
 * - a fit from it replays in augurs (same column identities and data hash) and the point forecast
 *   equals augurs' to 1e-9 of the series' mean;
 * - the interval ends agree with augurs' within 4% of the interval's width on every day and 1% on
 *   average, at 20,000 draws a side (both are Monte Carlo estimates, augurs' unseeded; measured:
 *   ≤ 1.5% a day, ≤ 0.1% on average).
 * - `replayPointForecast` (validation's replay, without augurs' Prophet) gives augurs' replayed
 *   point forecast: the same dates, values within 1e-9 of the series' mean, and refuses what
 *   augurs' replay refuses.
 * Regressors are not part of the training settings, so the builder has none (augurs keeps them).
 */

test.before(async () => {
  await initProphetFitting();
});

/** The optimizer input augurs builds for this history and these settings. */
function augursInput(series: Series, settings: ProphetSettings): StanData {
  let captured: StanData | undefined;
  const optimizer = {
    optimize: (_init: unknown, dataJson: string): never => {
      captured = JSON.parse(dataJson) as StanData;
      throw new Error('captured');
    },
  };
  const prophet = new Prophet({ ...settings, optimizer, uncertaintySamples: 0 });
  try {
    prophet.fit({ ds: [...series.ds], y: [...series.y] });
  } catch (error) {
    if (!captured) throw error;
  } finally {
    prophet.free();
  }
  return captured as StanData;
}

const bits = (values: ArrayLike<number>) => Array.from(values, (v) => (Object.is(v, -0) ? '-0' : String(v)));
const columnSet = (design: ProphetDesign) =>
  design.columns.map((column, j) => `${design.s_a[j]}|${design.s_m[j]}|${design.sigmas[j]}|${bits(column).join(',')}`).sort();

const off = { type: 'manual', enabled: false } as const;
const on = { type: 'manual', enabled: true } as const;
const noisy = seedSeries(1, 365, { weekly: 0.1, noise: 0.02 });
const hourly = synthetic(24 * 20, (day) => 50 + 10 * Math.sin(2 * Math.PI * day), 2, 7, 3600);
const cases: { name: string; series: Series; settings: ProphetSettings }[] = [
  ...corpus().map((c) => ({ name: `corpus: ${c.name}`, series: c.series, settings: c.settings })),
  { name: 'yearly and weekly auto, one year', series: noisy, settings: { ...defaultSettings, yearlySeasonality: { type: 'auto' }, weeklySeasonality: { type: 'auto' } } },
  { name: 'yearly on (order 10), two years', series: seedSeries(2, 800, { weekly: 0.1, noise: 0.02 }), settings: { ...defaultSettings, yearlySeasonality: on } },
  { name: 'weekly order 5, yearly off', series: noisy, settings: { ...defaultSettings, yearlySeasonality: off, weeklySeasonality: { type: 'fourier', order: 5 } } },
  { name: 'no seasonality, 25 changepoints', series: noisy, settings: { ...defaultSettings, yearlySeasonality: off, weeklySeasonality: off } },
  { name: '0 changepoints', series: noisy, settings: { ...defaultSettings, nChangepoints: 0 } },
  { name: '1 changepoint, range 0.5', series: noisy, settings: { ...defaultSettings, nChangepoints: 1, changepointRange: 0.5 } },
  { name: 'more changepoints than points in range', series: synthetic(30, (d) => 10 + d, 0.5, 2), settings: { ...defaultSettings, nChangepoints: 25 } },
  { name: 'minMax scaling', series: noisy, settings: { ...defaultSettings, scaling: 'minMax' } },
  { name: 'flat growth', series: noisy, settings: { ...defaultSettings, growth: 'flat' } },
  { name: 'hourly, daily and weekly auto', series: hourly, settings: { ...defaultSettings, yearlySeasonality: off, dailySeasonality: { type: 'auto' }, weeklySeasonality: { type: 'auto' } } },
  { name: 'hourly, daily order 6', series: hourly, settings: { ...defaultSettings, yearlySeasonality: off, dailySeasonality: { type: 'fourier', order: 6 } } },
  { name: 'two points', series: synthetic(2, (d) => 5 + d), settings: defaultSettings },
];

for (const c of cases) {
  test(`the design equals augurs' optimizer input: ${c.name}`, (t) => {
    const built = buildProphetDesign(c.series, c.settings);
    if ('unsupported' in built) return t.fail(built.unsupported);
    const ours = built.design;
    const theirs = designOfStanData(augursInput(c.series, c.settings));
    for (const key of ['T', 'S', 'K', 'trend_indicator', 'tau'] as const) t.is(ours[key], theirs[key], key);
    for (const key of ['y', 't', 'cap', 't_change'] as const) t.deepEqual(bits(ours[key]), bits(theirs[key]), key);
    t.deepEqual(columnSet(ours), columnSet(theirs), 'columns');
  });
}

test('multiplicative seasonality and unsorted histories are left to augurs', (t) => {
  t.true('unsupported' in buildProphetDesign(noisy, { ...defaultSettings, seasonalityMode: 'multiplicative' }));
  t.true('unsupported' in buildProphetDesign({ ds: [...noisy.ds].reverse(), y: noisy.y }, defaultSettings));
  t.true('unsupported' in buildProphetDesign({ ds: noisy.ds, y: noisy.y.map((v, i) => (i === 3 ? Number.NaN : v)) }, defaultSettings));
});

const doc = (series: Series, settings: ProphetSettings, fit: ReturnType<typeof fitProphet>['fit']) => ({
  format: 'forecast-fleet/prophet' as const,
  formatVersion: 1 as const,
  customerId: 'c1',
  runId: 'r1',
  trainedAt: new Date(0).toISOString(),
  prophet: settings,
  history: { ds: [...series.ds], y: [...series.y] },
  fit,
  metrics: { holdoutDays: 14, trainPoints: series.ds.length, mae: 0, rmse: 0, wape: 0, seasonalNaiveMae: 0, seasonalNaivePeriod: 7, intervalCoverage: null },
});

for (const c of cases.filter((x) => ['corpus: noisy weekly 1', 'corpus: flat growth', 'corpus: trend only (no seasonality, no changepoints)', 'hourly, daily and weekly auto', 'minMax scaling'].includes(x.name))) {
  test(`a fit from the design replays in augurs with the same forecast: ${c.name}`, (t) => {
    const fitted = fitProphet(c.series, c.settings);
    t.teardown(() => fitted.free());
    t.is(fitted.solver, 'exact');
    const replayed = replayModel(doc(c.series, c.settings, fitted.fit), { uncertaintySamples: 0 });
    t.teardown(() => replayed.free());
    const theirs = replayed.forecast(14);
    const ours = fitted.predictAt(theirs.map((p) => Date.parse(p.date) / 1000));
    const scale = c.series.y.reduce((a, b) => a + Math.abs(b), 0) / c.series.y.length || 1;
    ours.forEach((p, i) => {
      t.is(p.date, (theirs[i] as (typeof theirs)[number]).date);
      t.true(Math.abs(p.yhat - (theirs[i] as (typeof theirs)[number]).yhat) <= 1e-9 * scale, `day ${i}: ${p.yhat} vs augurs ${(theirs[i] as (typeof theirs)[number]).yhat}`);
    });
  });
}

test('the interval is the same simulation as augurs\' (20,000 draws a side)', (t) => {
  const settings = { ...defaultSettings, uncertaintySamples: 20_000 };
  const cut = noisy.ds.length - 30;
  const train = { ds: noisy.ds.slice(0, cut), y: noisy.y.slice(0, cut) };
  const fitted = fitProphet(train, settings);
  t.teardown(() => fitted.free());
  const replayed = replayModel(doc(train, settings, fitted.fit));
  t.teardown(() => replayed.free());
  const theirs = replayed.forecast(30);
  const ours = fitted.predictAt(noisy.ds.slice(cut));
  t.deepEqual(fitted.predictAt(noisy.ds.slice(cut)), ours, 'the same model gives the same interval every time');
  let lowerBias = 0;
  let upperBias = 0;
  ours.forEach((p, i) => {
    const q = theirs[i] as (typeof theirs)[number];
    const width = q.yhat_upper - q.yhat_lower;
    t.true(width > 0);
    lowerBias += (p.yhat_lower - q.yhat_lower) / width / ours.length;
    upperBias += (p.yhat_upper - q.yhat_upper) / width / ours.length;
    t.true(Math.abs(p.yhat_lower - q.yhat_lower) <= 0.04 * width, `day ${i}: lower ${p.yhat_lower} vs augurs ${q.yhat_lower} (width ${width})`);
    t.true(Math.abs(p.yhat_upper - q.yhat_upper) <= 0.04 * width, `day ${i}: upper ${p.yhat_upper} vs augurs ${q.yhat_upper}`);
  });
  t.true(Math.abs(lowerBias) <= 0.01 && Math.abs(upperBias) <= 0.01, `mean offsets ${lowerBias}, ${upperBias} of the width`);
});

const augursPointForecast = (model: ReturnType<typeof doc>, period: number) => {
  const replayed = replayModel(model, { uncertaintySamples: 0 });
  try {
    return replayed.forecast(period);
  } finally {
    replayed.free();
  }
};

const replayCases = [
  ...cases.filter((x) => !['two points'].includes(x.name)),
  { name: 'multiplicative seasonality (through augurs)', series: noisy, settings: { ...defaultSettings, seasonalityMode: 'multiplicative' as const } },
];
for (const c of replayCases) {
  test(`the point forecast replayed without augurs' Prophet is augurs' replayed one: ${c.name}`, (t) => {
    const fitted = fitProphet(c.series, c.settings, { optimizer: c.settings.seasonalityMode === 'additive' ? 'auto' : 'stan' });
    t.teardown(() => fitted.free());
    const model = doc(c.series, c.settings, fitted.fit);
    const theirs = augursPointForecast(model, 30);
    const ours = replayPointForecast(model, 30);
    const scale = c.series.y.reduce((a, b) => a + Math.abs(b), 0) / c.series.y.length || 1;
    t.deepEqual(ours.map((p) => p.date), theirs.map((p) => p.date));
    ours.forEach((p, i) => {
      const q = theirs[i] as (typeof theirs)[number];
      t.true(Math.abs(p.yhat - q.yhat) <= 1e-9 * scale, `day ${i}: ${p.yhat} vs augurs ${q.yhat}`);
      t.true(p.yhat_lower === p.yhat && p.yhat_upper === p.yhat && q.yhat_lower === q.yhat && q.yhat_upper === q.yhat);
    });
  });
}

test('the replayed point forecast refuses what augurs\' replay refuses: other data, a missing column, no single step', (t) => {
  const fitted = fitProphet(noisy, defaultSettings);
  t.teardown(() => fitted.free());
  const model = doc(noisy, defaultSettings, fitted.fit);
  const otherData = { ...model, fit: { ...model.fit, dataHash: '0'.repeat(64) } };
  for (const replay of [() => replayPointForecast(otherData, 7), () => augursPointForecast(otherData, 7)]) {
    t.throws(replay, { code: 'E_MODEL_HASH', message: /model c1 \(run r1\): the data rebuilt from the stored history and options does not match fit.dataHash/ });
  }
  const renamed = { ...model, fit: { ...model.fit, columns: model.fit.columns.map((id, i) => (i === 0 ? 'f'.repeat(32) : id)) } };
  for (const replay of [() => replayPointForecast(renamed, 7), () => augursPointForecast(renamed, 7)]) {
    t.throws(replay, { code: 'E_MODEL_HASH', message: /design-matrix column \d+ matches no stored coefficient|does not match fit.dataHash/ });
  }
  const shortBeta = { ...model, fit: { ...model.fit, beta: model.fit.beta.slice(1) } };
  t.throws(() => replayPointForecast(shortBeta, 7), { code: 'E_MODEL_SHAPE', message: /fit.beta has \d+ coefficients but the model has \d+ design-matrix columns/ });
  // The last five times step 1, 2, 1, 2 days: no single most common step, so augurs cannot make future dates either.
  const n = noisy.ds.length;
  const keep = noisy.ds.map((_, i) => i).filter((i) => i < n - 7 || [n - 7, n - 6, n - 4, n - 3, n - 1].includes(i));
  const ragged = { ds: keep.map((i) => noisy.ds[i] as number), y: keep.map((i) => noisy.y[i] as number) };
  const raggedFit = fitProphet(ragged, defaultSettings);
  t.teardown(() => raggedFit.free());
  const raggedModel = doc(ragged, defaultSettings, raggedFit.fit);
  t.throws(() => augursPointForecast(raggedModel, 7));
  t.throws(() => replayPointForecast(raggedModel, 7), { code: 'E_MODEL_SHAPE', message: /cannot tell the history's frequency: its last 5 times have no single most common gap \(86400, 172800 s\)/ });
});
