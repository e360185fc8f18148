import test from 'ava';
import { removeModels, trainModels, type TrainedModels } from '../containers/inference-fixtures.js';
import { driveLoad, serveFleet } from './endpoint-load.js';

const MiB = 1024 * 1024;
let models: TrainedModels;

test.before(async () => {
  models = await trainModels(200, 'run-load');
});
test.after.always(async () => {
  if (models) await removeModels(models);
});

// Full scale (1,000 distinct models, 60 s) is `npm run reliability`; this is its small version.
test('200 distinct models for 5 s at concurrency 16 under a memory budget that forces eviction: no request fails, memory stays within the budget', async (t) => {
  // ≈ 65 KB of measured memory a model: 200 models take about 13 MiB, so an 8 MiB budget holds about half (a smaller
  // budget would be mostly the V8 heaps' garbage of concurrent loads, 2 MB or so before a full collection).
  const budgetBytes = 8 * MiB;
  const fleet = await serveFleet(models, budgetBytes);
  t.teardown(() => fleet.close());
  // A crowded machine serves fewer requests in 5 s; the load goes on (up to 60 s) until it has evicted.
  const evicted = () => fleet.watch.refusals > 0 && fleet.watch.unloads > 0;
  const figures = await driveLoad(fleet, { seconds: 5, concurrency: 16, until: evicted, maxSeconds: 60 });
  t.log(
    `${figures.served} served, ${figures.failed} failed, ${figures.notReadyRetries} ModelNotReady retries, p50 ${figures.p50.toFixed(1)} ms, p99 ${figures.p99.toFixed(1)} ms; ` +
      `${figures.refusals} × 507, ${figures.unloads} unloads, ${figures.recycles} threads replaced; peak measured ${(figures.peakModelBytes / MiB).toFixed(2)} MiB ` +
      `(${(figures.peakMeasuredBytes / MiB).toFixed(2)} MiB with the HTTP thread's heap) of a ${budgetBytes / MiB} MiB budget, container RSS ${(figures.peakRssBytes / MiB).toFixed(0)} MiB`,
  );
  t.deepEqual(figures.failures, [], fleet.watch.lines.slice(-30).join("\n"));
  t.is(figures.failed, 0);
  t.true(figures.served >= 30, `${figures.served} served`);
  t.true(figures.refusals > 0 && figures.unloads > 0, 'the budget refused loads with 507 and the endpoint unloaded least recently used models');
  // What the model threads hold (V8 heaps, garbage included, and WebAssembly memory, forecasts' reserve included),
  // measured on every load and unload, never passes the budget.
  t.true(figures.peakModelBytes <= budgetBytes, `peak measured ${figures.peakModelBytes} bytes against a ${budgetBytes}-byte budget`);
});
