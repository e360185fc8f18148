import { stat } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { readModelDirectory } from '../../containers/shared/model-artifact.js';
import { initProphet, replayModel } from '../../containers/shared/prophet.js';
import { estimateModelBytes } from '../../containers/inference/memory-budget.js';
import { startInferenceServer, type InferenceServer } from '../../containers/inference/server.js';
import type { InferenceConfig } from '../../containers/inference/config.js';
import { removeModels, request, trainModels, type TrainedModels } from './inference-fixtures.js';

let models: TrainedModels;
let server: InferenceServer;

const CONFIG: InferenceConfig = { host: '127.0.0.1', port: 0, workers: 1, uncertaintySamples: undefined, modelMemoryBytes: undefined };

function modelDir(customerId: string): string {
  const dir = models.dirs.get(customerId);
  if (!dir) throw new Error(`no trained model for customer ${customerId}`);
  return dir;
}

async function start(t: { teardown(fn: () => Promise<void>): void }, config: Partial<InferenceConfig> = {}): Promise<InferenceServer> {
  const started = await startInferenceServer({ ...CONFIG, ...config });
  t.teardown(() => started.close());
  return started;
}

const load = (base: string, name: string, url: string) => request(base, 'POST', '/models', JSON.stringify({ model_name: name, url }));
const invoke = (base: string, name: string, body: string, headers?: Record<string, string>) =>
  request(base, 'POST', `/models/${encodeURIComponent(name)}/invoke`, body, headers);

test.before(async () => {
  models = await trainModels(2);
  server = await startInferenceServer(CONFIG);
});

test.after.always(async () => {
  await server?.close();
  if (models) await removeModels(models);
});

test('GET /ping answers 200 and GET /models lists nothing before any load', async (t) => {
  const fresh = await start(t, { workers: 0 });
  const ping = await request(fresh.url, 'GET', '/ping');
  t.is(ping.status, 200);
  const list = await request(fresh.url, 'GET', '/models');
  t.is(list.status, 200);
  t.deepEqual(list.body, { models: [] });
});

test('a model loads, is described, forecasts one entry per day and unloads', async (t) => {
  const url = modelDir('0');
  const loaded = await load(server.url, 'lifecycle', url);
  t.is(loaded.status, 200);
  t.like(loaded.body, { modelName: 'lifecycle', modelUrl: url, customerId: '0', runId: 'run-test' });

  const described = await request(server.url, 'GET', '/models/lifecycle');
  t.is(described.status, 200);
  t.like(described.body, { modelName: 'lifecycle', modelUrl: url });

  const answer = await invoke(server.url, 'lifecycle', '{"period": 7}');
  t.is(answer.status, 200);
  t.is(answer.headers.get('content-type'), 'application/json; charset=utf-8');
  t.like(answer.body, { customerId: '0', model: 'lifecycle', runId: 'run-test', period: 7 });
  const forecast = answer.body.forecast as { date: string; yhat: number; yhat_lower: number; yhat_upper: number }[];
  // The training data is the daily 2022 series, so the forecast starts on the next day.
  t.deepEqual(
    forecast.map((p) => p.date),
    ['2023-01-01', '2023-01-02', '2023-01-03', '2023-01-04', '2023-01-05', '2023-01-06', '2023-01-07'],
  );
  for (const point of forecast) {
    t.true(Number.isFinite(point.yhat) && point.yhat_lower < point.yhat && point.yhat < point.yhat_upper, JSON.stringify(point));
  }

  // The server's point forecast is the stored model's own forecast (to rounding: a replay sums the
  // seasonal columns in whatever order that Prophet instance builds them).
  await initProphet();
  const replayed = replayModel(await readModelDirectory(url));
  t.teardown(() => replayed.free());
  replayed.forecast(7).forEach((expected, i) => {
    t.true(Math.abs(forecast[i]!.yhat - expected.yhat) <= 1e-9 * Math.abs(expected.yhat), `${forecast[i]!.yhat} vs ${expected.yhat}`);
  });

  const unloaded = await request(server.url, 'DELETE', '/models/lifecycle');
  t.is(unloaded.status, 200);
  for (const [method, route] of [['GET', '/models/lifecycle'], ['DELETE', '/models/lifecycle'], ['POST', '/models/lifecycle/invoke']] as const) {
    const gone = await request(server.url, method, route, method === 'POST' ? '{"period": 7}' : undefined);
    t.is(gone.status, 404, `${method} ${route}`);
    t.is(gone.body.code, 'E_MODEL_NOT_LOADED');
  }
});

test('loading a name already loaded, or being loaded, answers 409', async (t) => {
  const [first, second] = await Promise.all([load(server.url, 'twice', modelDir('1')), load(server.url, 'twice', modelDir('1'))]);
  t.deepEqual([first.status, second.status].sort(), [200, 409]);
  const again = await load(server.url, 'twice', modelDir('0'));
  t.is(again.status, 409);
  t.like(again.body, { statusCode: 409, code: 'E_MODEL_ALREADY_LOADED' });
  t.regex(again.body.message, /twice/);
  t.teardown(() => request(server.url, 'DELETE', '/models/twice').then(() => {}));
});

test("the seed's doubly encoded body is accepted and the Target-Model header names the model", async (t) => {
  t.is((await load(server.url, 'seed-form', modelDir('1'))).status, 200);
  t.teardown(() => request(server.url, 'DELETE', '/models/seed-form').then(() => {}));
  const answer = await invoke(server.url, 'seed-form', JSON.stringify('{"period": 3}'), {
    'x-amzn-sagemaker-target-model': 'run-test/1.tar.gz',
  });
  t.is(answer.status, 200);
  t.like(answer.body, { customerId: '1', model: 'run-test/1.tar.gz', period: 3 });
  t.is(answer.body.forecast.length, 3);

  // The AWS SDK sends application/octet-stream when no content type is set.
  const octets = await invoke(server.url, 'seed-form', '{"period": 1}', { 'content-type': 'application/octet-stream' });
  t.is(octets.status, 200);
  t.is(octets.body.forecast.length, 1);
});

test('each bad invocation body gets a 400 or 413 naming the problem', async (t) => {
  t.is((await load(server.url, 'bad-bodies', modelDir('0'))).status, 200);
  t.teardown(() => request(server.url, 'DELETE', '/models/bad-bodies').then(() => {}));
  const cases: [string, number, string, RegExp][] = [
    ['', 400, 'E_BODY_EMPTY', /empty/],
    ['period=7', 400, 'E_BODY_NOT_JSON', /not JSON/],
    [JSON.stringify('period=7'), 400, 'E_BODY_NOT_JSON', /JSON string whose content is not JSON/],
    ['[7]', 400, 'E_BODY_NOT_OBJECT', /must be a JSON object/],
    ['{"days": 7}', 400, 'E_PERIOD_MISSING', /no \[period\]/],
    ['{"period": "7"}', 400, 'E_PERIOD_NOT_INTEGER', /integer.*"7"/],
    ['{"period": 7.5}', 400, 'E_PERIOD_NOT_INTEGER', /7\.5/],
    ['{"period": 0}', 400, 'E_PERIOD_OUT_OF_RANGE', /from 1 to 366 days; received 0/],
    ['{"period": 367}', 400, 'E_PERIOD_OUT_OF_RANGE', /received 367/],
    [JSON.stringify('{"period": -1}'), 400, 'E_PERIOD_OUT_OF_RANGE', /received -1/],
    [`{"period": 7, "pad": "${'x'.repeat(70_000)}"}`, 413, 'E_BODY_TOO_LARGE', /larger than the 65536 bytes/],
  ];
  for (const [body, status, code, message] of cases) {
    const answer = await invoke(server.url, 'bad-bodies', body);
    t.is(answer.status, status, body.slice(0, 40));
    t.like(answer.body, { statusCode: status, code }, body.slice(0, 40));
    t.regex(answer.body.message, message);
  }
  t.is((await invoke(server.url, 'bad-bodies', '{"period": 366}')).body.forecast.length, 366);
});

test('bad load bodies get a 400, a folder without model.json a 422', async (t) => {
  const cases: [string, string][] = [
    ['not json', 'E_BODY_NOT_JSON'],
    [JSON.stringify({ url: modelDir('0') }), 'E_MODEL_NAME_INVALID'],
    [JSON.stringify({ model_name: '', url: modelDir('0') }), 'E_MODEL_NAME_INVALID'],
    [JSON.stringify({ model_name: 'relative', url: 'models/0/model' }), 'E_MODEL_URL_INVALID'],
  ];
  for (const [body, code] of cases) {
    const answer = await request(server.url, 'POST', '/models', body);
    t.is(answer.status, 400, body);
    t.is(answer.body.code, code, body);
  }
  const missing = await load(server.url, 'no-model-json', path.dirname(modelDir('0')));
  t.is(missing.status, 422);
  t.like(missing.body, { code: 'E_MODEL_ARTIFACT_INVALID', reason: 'ENOENT' });
  t.regex(missing.body.message, /model\.json/);
  t.is((await request(server.url, 'GET', '/models/no-model-json')).status, 404);
});

test('unknown routes answer 404 with a code', async (t) => {
  const answer = await request(server.url, 'GET', '/invocations');
  t.is(answer.status, 404);
  t.is(answer.body.code, 'E_ROUTE_NOT_FOUND');
});

test('GET /models pages through every model with limit and next_page_token', async (t) => {
  const paged = await start(t);
  const names = ['a', 'b/with slash', 'c', 'd', 'e'];
  for (const name of names) t.is((await load(paged.url, name, modelDir('0'))).status, 200);
  const seen: string[] = [];
  let token: string | undefined;
  const pages: number[] = [];
  do {
    const query = `?limit=2${token ? `&next_page_token=${token}` : ''}`;
    const page = await request(paged.url, 'GET', `/models${query}`);
    t.is(page.status, 200);
    pages.push(page.body.models.length);
    for (const model of page.body.models) {
      t.is(model.modelUrl, modelDir('0'));
      seen.push(model.modelName);
    }
    token = page.body.nextPageToken;
  } while (token);
  t.deepEqual(pages, [2, 2, 1]);
  t.deepEqual(seen, names);
  t.deepEqual((await request(paged.url, 'GET', '/models')).body.models.length, 5);
  t.is((await request(paged.url, 'GET', `/models/${encodeURIComponent('b/with slash')}`)).status, 200);
  for (const query of ['?limit=0', '?limit=x', '?limit=1001', '?next_page_token=%25%25']) {
    const bad = await request(paged.url, 'GET', `/models${query}`);
    t.is(bad.status, 400, query);
    t.is(bad.body.code, 'E_PAGINATION_INVALID', query);
  }
});

test('a load that would grow memory past the budget answers 507; one that fits in memory an unload freed loads', async (t) => {
  const size = (await stat(path.join(modelDir('0'), 'model.json'))).size;
  const budget = 8 * 1024 * 1024;
  const tight = await start(t, { modelMemoryBytes: budget });
  let loaded = 0;
  let refused: Awaited<ReturnType<typeof load>> | undefined;
  while (!refused && loaded < 500) {
    const answer = await load(tight.url, `m${loaded}`, modelDir('0'));
    if (answer.status === 200) loaded++;
    else refused = answer;
  }
  t.is(refused?.status, 507);
  t.is(refused?.body.code, 'E_INSUFFICIENT_MEMORY');
  t.regex(
    refused?.body.message ?? '',
    /(needs room for its estimate of .* MiB and two pages, where unloads freed none|grew its thread's memory by .* MiB, more than the .* MiB it was allowed).*: \d+ loaded models take .* MiB of the 8\.0 MiB model memory budget \(V8 heap and WebAssembly memory of 1 model thread, measured\)/,
  );
  // Measured, a model takes less than its first guess, so more fit than the estimates would let in.
  t.true(loaded > budget / estimateModelBytes(size), `${loaded} models within a ${budget}-byte budget`);
  t.is((await request(tight.url, 'GET', `/models/m${loaded}`)).status, 404);
  t.is((await invoke(tight.url, 'm0', '{"period": 2}')).status, 200);
  t.is((await request(tight.url, 'DELETE', '/models/m0')).status, 200);
  t.is((await load(tight.url, `m${loaded}`, modelDir('0'))).status, 200);
});
