import test from 'ava';
import { fitProphet, initProphetFitting } from '../../containers/shared/prophet.js';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { seedSeries } from './prophet-corpus.js';

const settings = { ...parseHyperparameters({ run_id: 'test' }, {}).prophet, uncertaintySamples: 0 };

test.before(async () => {
  await initProphetFitting();
});

test("a noise-free seed series is fitted to convergence: forecasts within 0.01% of the truth", (t) => {
  // Prophet's default L-BFGS stops at its 2000-iteration cap on these series, up to 0.2% off.
  for (const id of [0, 7, 19]) {
    const truth = seedSeries(id, 365 + 14);
    const model = fitProphet({ ds: truth.ds.slice(0, 365), y: truth.y.slice(0, 365) }, settings);
    t.teardown(() => model.free());
    const mean = truth.y.slice(0, 365).reduce((a, b) => a + b, 0) / 365;
    const forecast = model.forecast(14);
    const worst = Math.max(...forecast.map((p, i) => Math.abs(p.yhat - (truth.y[365 + i] as number)) / mean));
    t.true(worst < 1e-4, `customer ${id}: forecast off by ${(worst * 100).toFixed(4)}% of the mean`);
  }
});

test('a noisy series still fits and forecasts better than repeating last week', (t) => {
  const truth = seedSeries(3, 365, { weekly: 0.1, noise: 0.05 });
  const cut = 365 - 14;
  const model = fitProphet({ ds: truth.ds.slice(0, cut), y: truth.y.slice(0, cut) }, settings);
  t.teardown(() => model.free());
  const predicted = model.predictAt(truth.ds.slice(cut));
  let error = 0;
  let naive = 0;
  predicted.forEach((p, i) => {
    const actual = truth.y[cut + i] as number;
    error += Math.abs(p.yhat - actual);
    naive += Math.abs((truth.y[cut - 7 + (i % 7)] as number) - actual);
  });
  t.true(error < naive, `holdout MAE ${(error / 14).toFixed(2)} vs seasonal-naive ${(naive / 14).toFixed(2)}`);
  t.true(Number.isFinite(model.fit.sigmaObs) && model.fit.sigmaObs > 0);
});
