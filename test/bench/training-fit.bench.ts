/**
 * Cost of fitting one customer model: the training container's fit (`fitProphet`, which picks
 * BFGS or L-BFGS from the data) against Prophet's default optimizer settings (L-BFGS), in the same
 * run on the same series, interleaved so machine load hits both alike.
 *
 *   npx tsx test/bench/training-fit.bench.ts [--customers 100] [--weekly 0] [--noise 0]
 *
 * Per customer both sides do the model work of `trainCustomer`: fit on all but the last 14 days,
 * predict those 14 days, refit on all 365 days, predict the next 14. CPU time comes from
 * process.cpuUsage() (meaningful on a loaded machine, unlike wall time). The data set is the
 * seed's (`--weekly`/`--noise` add the generator's weekly pattern and noise) with 14 extra days
 * generated as the truth the refit's forecast is scored against. Reported: CPU ms per model,
 * holdout MAE against seasonal-naive, largest forecast error against the truth and largest gap
 * between the two sides (shares of the series mean), fits that failed. Also the whole
 * `trainCustomer` (file read and parse, fits, archive write) per model. Results go to
 * bench-results/training-fit.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Prophet } from '@bsull/augurs/prophet';
import type { ProphetOptions } from '@bsull/augurs/prophet';
import { optimizer } from '@bsull/augurs-prophet-wasmstan';
import { fitProphet, initProphetFitting } from '../../containers/shared/prophet.js';
import { seasonalNaive } from '../../containers/training/evaluation.js';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { trainCustomer } from '../../containers/training/train-customer.js';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import { writeTrainingChannel } from '../containers/training-fixture.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100' },
    weekly: { type: 'string', default: '0' },
    noise: { type: 'string', default: '0' },
  },
});
const CUSTOMERS = Number(values.customers);
const dataset = { customers: CUSTOMERS, weekly: Number(values.weekly), noise: Number(values.noise) };
const DAYS = 365;
const HOLDOUT = 14;
const repo = path.resolve(import.meta.dirname, '..', '..');

const series = new Map<string, { ds: number[]; y: number[] }>();
for (const chunk of datasetChunks({ ...dataset, days: DAYS + HOLDOUT, order: 'customer' })) {
  for (const line of chunk.split('\n')) {
    if (line === '' || line.startsWith('customer_id')) continue;
    const [id, stamp, value] = line.split(',') as [string, string, string];
    let s = series.get(id);
    if (!s) series.set(id, (s = { ds: [], y: [] }));
    s.ds.push(Date.parse(stamp) / 1000);
    s.y.push(Number(value));
  }
}

const settings = parseHyperparameters({ run_id: 'bench' }, {});
const prophet = { ...settings.prophet, uncertaintySamples: 0 };
await initProphetFitting();
const cpuMs = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

/** Prophet's defaults: the optimizer as augurs calls it, no options. */
function fitDefault(history: { ds: number[]; y: number[] }): Prophet {
  const { uncertaintySamples: _, ...rest } = prophet;
  const model = new Prophet({ ...rest, optimizer, uncertaintySamples: 0 } as ProphetOptions);
  try {
    model.fit(history);
  } catch (error) {
    model.free();
    throw error;
  }
  return model;
}

interface Side {
  cpuMs: number;
  failed: number;
  mae: number;
  maxErrorShare: number;
  forecasts: Map<string, number[]>;
}
const side = (): Side => ({ cpuMs: 0, failed: 0, mae: 0, maxErrorShare: 0, forecasts: new Map() });
const sides = { default: side(), container: side() };
let naiveMae = 0;

const mae = (a: readonly number[], b: readonly number[]) => a.reduce((sum, x, i) => sum + Math.abs(x - (b[i] as number)), 0) / a.length;

for (const [id, s] of series) {
  const cut = DAYS - HOLDOUT;
  const train = { ds: s.ds.slice(0, cut), y: s.y.slice(0, cut) };
  const all = { ds: s.ds.slice(0, DAYS), y: s.y.slice(0, DAYS) };
  const holdoutDs = s.ds.slice(cut, DAYS);
  const holdoutY = s.y.slice(cut, DAYS);
  const futureDs = s.ds.slice(DAYS);
  const futureY = s.y.slice(DAYS);
  const mean = all.y.reduce((a, b) => a + b, 0) / DAYS;
  naiveMae += mae(holdoutY, seasonalNaive(train, holdoutDs, 7));
  const runs: [Side, () => [number[], number[]]][] = [
    [
      sides.default,
      () => {
        const first = fitDefault(train);
        const h = first.predict({ ds: holdoutDs }).yhat.point;
        first.free();
        const second = fitDefault(all);
        const f = second.predict({ ds: futureDs }).yhat.point;
        second.free();
        return [h, f];
      },
    ],
    [
      sides.container,
      () => {
        const first = fitProphet(train, prophet);
        const h = first.predictAt(holdoutDs).map((p) => p.yhat);
        first.free();
        const second = fitProphet(all, prophet);
        const f = second.predictAt(futureDs).map((p) => p.yhat);
        second.free();
        return [h, f];
      },
    ],
  ];
  for (const [target, run] of runs) {
    const before = cpuMs();
    try {
      const [h, f] = run();
      target.cpuMs += cpuMs() - before;
      target.mae += mae(holdoutY, h);
      const worst = Math.max(...h.map((x, i) => Math.abs(x - (holdoutY[i] as number))), ...f.map((x, i) => Math.abs(x - (futureY[i] as number))));
      target.maxErrorShare = Math.max(target.maxErrorShare, worst / mean);
      target.forecasts.set(id, [...h, ...f].map((x) => x / mean));
    } catch {
      target.cpuMs += cpuMs() - before;
      target.failed += 1;
    }
  }
}

let maxGap = 0;
for (const [id, a] of sides.default.forecasts) {
  const b = sides.container.forecasts.get(id);
  if (b) maxGap = Math.max(maxGap, ...a.map((x, i) => Math.abs(x - (b[i] as number))));
}

// The whole customer as the container trains it, from its file to its archive.
const base = await mkdtemp(path.join(os.tmpdir(), 'training-fit-bench-'));
let trainCustomerCpuMs: number;
try {
  const ids = await writeTrainingChannel(base, dataset);
  const channel = path.join(base, 'input', 'data', 'train');
  const before = cpuMs();
  for (const customerId of ids) {
    await trainCustomer({ customerId, file: path.join(channel, `${customerId}.csv`), checkpoint: path.join(base, 'model', `${customerId}.tar.gz`) }, settings);
  }
  trainCustomerCpuMs = (cpuMs() - before) / ids.length;
} finally {
  await rm(base, { recursive: true, force: true });
}

const summary = (s: Side) => {
  const fitted = CUSTOMERS - s.failed;
  return { cpuMsPerModel: s.cpuMs / CUSTOMERS, failed: s.failed, holdoutMae: s.mae / fitted, maxErrorShare: s.maxErrorShare };
};
const result = {
  date: new Date().toISOString(),
  data: { ...dataset, days: DAYS, holdoutDays: HOLDOUT },
  default: summary(sides.default),
  container: summary(sides.container),
  cpuRatio: sides.default.cpuMs / sides.container.cpuMs,
  maxForecastGapShare: maxGap,
  seasonalNaiveMae: naiveMae / CUSTOMERS,
  trainCustomerCpuMsPerModel: trainCustomerCpuMs,
  target: { trainCustomerCpuMsPerModel: 120 },
};
await mkdir(path.join(repo, 'bench-results'), { recursive: true });
await writeFile(path.join(repo, 'bench-results', 'training-fit.json'), `${JSON.stringify(result, null, 2)}\n`);
const pct = (share: number) => `${(share * 100).toFixed(3)}%`;
const line = (label: string, s: ReturnType<typeof summary>) =>
  `${label.padEnd(28)} ${s.cpuMsPerModel.toFixed(1).padStart(6)} CPU ms/model   holdout MAE ${s.holdoutMae.toFixed(4)}   max error ${pct(s.maxErrorShare)}   failed ${s.failed}`;
console.log(`${CUSTOMERS} customers, weekly ${dataset.weekly}, noise ${dataset.noise}: holdout fit + predict + refit + predict`);
console.log(line('Prophet defaults (L-BFGS)', result.default));
console.log(line('fitProphet (BFGS or L-BFGS)', result.container));
console.log(`CPU ratio ${result.cpuRatio.toFixed(2)}×; largest forecast gap between them ${pct(maxGap)} of the series mean; seasonal-naive holdout MAE ${result.seasonalNaiveMae.toFixed(3)}`);
console.log(`trainCustomer (read, parse, fits, archive): ${trainCustomerCpuMs.toFixed(1)} CPU ms/model (target ≤ ${result.target.trainCustomerCpuMsPerModel})`);
