import { stat } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { estimateModelBytes } from '../../containers/inference/memory-budget.js';
import { startInferenceServer, type InferenceServer } from '../../containers/inference/server.js';
import type { InferenceConfig } from '../../containers/inference/config.js';
import { removeModels, request, trainModels, type TrainedModels } from './inference-fixtures.js';

const MiB = 1024 * 1024;
let models: TrainedModels;

test.before(async () => {
  models = await trainModels(6, 'run-memory');
});
test.after.always(async () => {
  if (models) await removeModels(models);
});

async function start(t: { teardown(fn: () => Promise<void>): void }, config: Partial<InferenceConfig>, events: { event: string; fields: Record<string, unknown> }[] = []): Promise<InferenceServer> {
  const server = await startInferenceServer(
    { host: '127.0.0.1', port: 0, workers: 2, uncertaintySamples: undefined, modelMemoryBytes: undefined, ...config },
    (event, fields) => events.push({ event, fields }),
  );
  t.teardown(() => server.close());
  return server;
}

const dirs = () => [...models.dirs.values()];
const load = (server: InferenceServer, name: string, url: string) => request(server.url, 'POST', '/models', JSON.stringify({ model_name: name, url }));
const invoke = (server: InferenceServer, name: string, period: number) => request(server.url, 'POST', `/models/${name}/invoke`, JSON.stringify({ period }));

/** Loads `prefix0`, `prefix1`, … over the trained artifacts until the server answers something else than 200. */
async function loadUntilRefused(server: InferenceServer, prefix: string, limit = 2000): Promise<{ loaded: string[]; refusal: Awaited<ReturnType<typeof request>> | undefined }> {
  const loaded: string[] = [];
  for (let i = 0; i < limit; i++) {
    const answer = await load(server, `${prefix}${i}`, dirs()[i % dirs().length]!);
    if (answer.status !== 200) return { loaded, refusal: answer };
    loaded.push(`${prefix}${i}`);
  }
  return { loaded, refusal: undefined };
}

test('with two worker threads, loads stop at the measured budget, not at the sum of estimates', async (t) => {
  const budget = 16 * MiB;
  const server = await start(t, { modelMemoryBytes: budget });
  const { loaded, refusal } = await loadUntilRefused(server, 'm');
  t.is(refusal?.status, 507);
  t.is(refusal?.body.code, 'E_INSUFFICIENT_MEMORY');
  t.regex(refusal?.body.message ?? '', /of 2 model threads, measured/);
  const { measuredBytes, threads } = server.registry.memory();
  t.is(threads, 2);
  // Refused only when full: what the threads hold is within the budget, and near it (the budget keeps each thread's
  // garbage allowance, 512 KiB here, for what its heap may gather before it is collected).
  t.true(measuredBytes <= budget, `measured ${measuredBytes} within the ${budget} budget`);
  t.true(measuredBytes > budget - 3 * MiB, `measured ${measuredBytes} near the ${budget} budget when refused`);
  const estimates = (await Promise.all(loaded.map((_, i) => stat(path.join(dirs()[i % dirs().length]!, 'model.json'))))).map((s) => estimateModelBytes(s.size));
  t.true(estimates.reduce((a, b) => a + b, 0) > budget, `${loaded.length} models: more than their estimates would let in`);
  t.log(`${loaded.length} models in a ${budget / MiB} MiB budget, ${(measuredBytes / MiB).toFixed(2)} MiB measured`);
});

test('after a peak, models unloaded free memory that new models reuse: no load is refused for good', async (t) => {
  const budget = 4 * MiB;
  const server = await start(t, { modelMemoryBytes: budget });
  const first = await loadUntilRefused(server, 'a');
  t.is(first.refusal?.status, 507);
  const peak = server.registry.memory().measuredBytes;
  for (const name of first.loaded) t.is((await request(server.url, 'DELETE', `/models/${name}`)).status, 200);
  // WebAssembly memory never shrinks: the measured figure stays at the peak...
  t.true(server.registry.memory().measuredBytes >= peak - MiB);
  // ...and yet about as many other models load again, into the memory the unloads freed, without growing it past the
  // budget (V8 heaps' garbage from the first round, not yet collected, may take a few models' room).
  const second = await loadUntilRefused(server, 'b', first.loaded.length);
  t.true(second.loaded.length >= 0.9 * first.loaded.length, `${second.loaded.length} loaded again of ${first.loaded.length}: ${second.refusal?.body.message}`);
  t.true(server.registry.memory().measuredBytes <= budget);
  t.is((await invoke(server, second.loaded.at(-1)!, 3)).status, 200);
});

test('a thread whose WebAssembly memory a forecast grew far past its share is replaced, and its models keep answering', async (t) => {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const budget = 4 * MiB;
  // 2000 samples over 366 days: the forecast's sample matrices grow the thread's memory by about 12 MB, never given back.
  const server = await start(t, { workers: 1, modelMemoryBytes: budget, uncertaintySamples: 2000 }, events);
  const names = dirs().map((_, i) => `f${i}`);
  for (const [i, name] of names.entries()) t.is((await load(server, name, dirs()[i]!)).status, 200);
  const before = (await invoke(server, 'f0', 7)).body.forecast;

  t.is((await invoke(server, 'f1', 366)).status, 200);
  await server.registry.settled();
  const recycled = events.find((e) => e.event === 'thread-recycled');
  t.truthy(recycled, 'the thread was replaced');
  t.like(recycled?.fields, { models: names.length });
  t.true((recycled?.fields.heldMiB as number) > budget / MiB, `held ${String(recycled?.fields.heldMiB)} MiB before`);
  const { measuredBytes, recycled: count } = server.registry.memory();
  t.is(count, 1);
  t.true(measuredBytes < budget, `measured ${measuredBytes} back under the ${budget} budget`);
  // Every model answers from the new thread, with the same forecast.
  for (const name of names) t.is((await invoke(server, name, 7)).status, 200);
  t.deepEqual((await invoke(server, 'f0', 7)).body.forecast.map((p: { date: string }) => p.date), before.map((p: { date: string }) => p.date));
  t.is((await load(server, 'after', dirs()[0]!)).status, 200);
});
