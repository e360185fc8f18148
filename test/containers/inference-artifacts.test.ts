import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { startInferenceServer, type InferenceServer } from '../../containers/inference/server.js';
import { removeModels, request, trainModels, type TrainedModels } from './inference-fixtures.js';

let models: TrainedModels;
let server: InferenceServer;
let goodDir: string;

test.before(async () => {
  models = await trainModels(1);
  goodDir = models.dirs.get('0')!;
  // Two worker threads: a failed load must leave models on the same and on the other thread serving.
  server = await startInferenceServer({ host: '127.0.0.1', port: 0, workers: 2, uncertaintySamples: undefined, modelMemoryBytes: undefined });
  for (const name of ['good-a', 'good-b']) {
    const loaded = await request(server.url, 'POST', '/models', JSON.stringify({ model_name: name, url: goodDir }));
    if (loaded.status !== 200) throw new Error(`could not load ${name}: ${JSON.stringify(loaded.body)}`);
  }
});

test.after.always(async () => {
  await server?.close();
  if (models) await removeModels(models);
});

/** A copy of the trained model's folder with its model.json rewritten by `damage`. */
async function damagedCopy(name: string, damage: (text: string) => string): Promise<string> {
  const dir = path.join(models.root, 'damaged', name);
  await cp(goodDir, dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  await writeFile(file, damage(await readFile(file, 'utf8')));
  return dir;
}

function editJson(edit: (doc: any) => void): (text: string) => string {
  return (text) => {
    const doc = JSON.parse(text);
    edit(doc);
    return JSON.stringify(doc);
  };
}

const cases: [string, (text: string) => string, string, RegExp][] = [
  ['corrupt', (text) => text.slice(0, Math.floor(text.length / 2)), 'E_MODEL_JSON', /JSON/],
  ['wrong-version', editJson((doc) => (doc.formatVersion = 99)), 'E_MODEL_FORMAT', /formatVersion|version/],
  ['bad-shapes', editJson((doc) => doc.fit.beta.pop()), 'E_MODEL_SHAPE', /beta/],
  ['hash-mismatch', editJson((doc) => (doc.history.y[100] += 1)), 'E_MODEL_HASH', /hash/i],
  // Caught only when the fit is replayed in the model's worker thread.
  ['data-hash-mismatch', editJson((doc) => (doc.fit.dataHash = '0'.repeat(64))), 'E_MODEL_HASH', /dataHash/],
];

for (const [name, damage, reason, message] of cases) {
  test(`a ${name} model is refused with 422 ${reason} and every other model keeps serving`, async (t) => {
    const dir = await damagedCopy(name, damage);
    const refused = await request(server.url, 'POST', '/models', JSON.stringify({ model_name: name, url: dir }));
    t.is(refused.status, 422);
    t.like(refused.body, { statusCode: 422, code: 'E_MODEL_ARTIFACT_INVALID', reason });
    t.regex(refused.body.message, new RegExp(`Model \\[${name}\\] cannot be loaded from ${dir}`));
    t.regex(refused.body.message, message);

    t.is((await request(server.url, 'GET', `/models/${name}`)).status, 404);
    t.is((await request(server.url, 'POST', `/models/${name}/invoke`, '{"period": 7}')).status, 404);
    for (const good of ['good-a', 'good-b']) {
      const answer = await request(server.url, 'POST', `/models/${good}/invoke`, '{"period": 7}');
      t.is(answer.status, 200, good);
      t.is(answer.body.forecast.length, 7);
    }
    const listed = (await request(server.url, 'GET', '/models')).body.models.map((m: { modelName: string }) => m.modelName);
    t.false(listed.includes(name));
  });
}

test('a refused name can be loaded once its artifact is fixed', async (t) => {
  const dir = await damagedCopy('fixed-later', (text) => text.slice(0, 100));
  t.is((await request(server.url, 'POST', '/models', JSON.stringify({ model_name: 'fixed-later', url: dir }))).status, 422);
  await cp(goodDir, dir, { recursive: true });
  t.is((await request(server.url, 'POST', '/models', JSON.stringify({ model_name: 'fixed-later', url: dir }))).status, 200);
  t.is((await request(server.url, 'POST', '/models/fixed-later/invoke', '{"period": 2}')).status, 200);
});
