import test from 'ava';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Pack, ReadEntry } from 'tar';
import {
  ARCHIVE_LIMITS,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  ModelArtifactError,
  extractModelArchive,
  extractModelArchiveBytes,
  parseModelDocument,
  readModelArchive,
  readModelDirectory,
  writeModelArchive,
} from '../../containers/shared/model-artifact.js';
import type { ModelDocument, ProphetSettings } from '../../containers/shared/model-artifact.js';
import { fitProphet, initProphetFitting, replayModel } from '../../containers/shared/prophet.js';

const settings: ProphetSettings = {
  growth: 'linear',
  nChangepoints: 25,
  changepointRange: 0.8,
  changepointPriorScale: 0.05,
  yearlySeasonality: { type: 'fourier', order: 4 },
  weeklySeasonality: { type: 'manual', enabled: true },
  dailySeasonality: { type: 'manual', enabled: false },
  seasonalityMode: 'additive',
  seasonalityPriorScale: 10,
  scaling: 'absMax',
  intervalWidth: 0.8,
  uncertaintySamples: 0,
};

/** A deterministic daily series with yearly and weekly cycles: two seasonalities, the replay trap. */
function series(days: number, shift = 0): { ds: number[]; y: number[] } {
  const ds: number[] = [];
  const y: number[] = [];
  for (let d = 0; d < days; d++) {
    ds.push(Date.UTC(2022, 0, 1) / 1000 + d * 86_400);
    y.push(700 + shift + 150 * Math.sin((2 * Math.PI * d) / 365 + 1.3) + 40 * Math.sin((2 * Math.PI * d) / 7) + 9 * Math.sin(d * 12.9898));
  }
  return { ds, y };
}

let trained: { doc: ModelDocument; forecast: number[] }[] = [];

test.before(async () => {
  await initProphetFitting();
  trained = [0, 25, 50].map((shift, i) => {
    const history = series(365, shift);
    const model = fitProphet(history, settings);
    const forecast = model.forecast(30).map((p) => p.yhat);
    const doc: ModelDocument = {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      customerId: String(i),
      runId: '2026-11-26',
      trainedAt: '2026-11-26T02:00:00.000Z',
      prophet: settings,
      history,
      fit: model.fit,
      metrics: { holdoutDays: 14, trainPoints: 351, mae: 1, rmse: 1, wape: 0.01, seasonalNaiveMae: 2, seasonalNaivePeriod: 7, intervalCoverage: null },
    };
    model.free();
    return { doc, forecast };
  });
});

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'model-artifact-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function first(): ModelDocument {
  return structuredClone((trained[0] as { doc: ModelDocument }).doc);
}

/** A tar.gz built entry by entry with node-tar, for archives training would never write. */
async function craftArchive(file: string, entries: { header: ConstructorParameters<typeof Header>[0]; data?: Buffer }[]): Promise<void> {
  // preservePaths: node-tar would otherwise strip the absolute paths these tests need.
  const pack = new Pack({ portable: true, preservePaths: true });
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { header, data } of entries) {
    const entry = new ReadEntry(new Header(header));
    entry.end(data ?? Buffer.alloc(0));
    pack.add(entry);
  }
  pack.end();
  await done;
  await writeFile(file, gzipSync(Buffer.concat(chunks)));
}

const modelJson = () => Buffer.from(JSON.stringify(first()));

test('archive round trip: the replayed model reproduces the trained forecast', async (t) => {
  const dir = await tempDir(t);
  for (const { doc, forecast } of trained) {
    const file = path.join(dir, `${doc.customerId}.tar.gz`);
    await writeModelArchive(file, doc);
    const back = await readModelArchive(file);
    t.deepEqual(back, doc);
    const replayed = replayModel(back);
    const points = replayed.forecast(30);
    replayed.free();
    t.is(points.length, 30);
    t.is(points[0]?.date, '2023-01-01');
    for (const [i, p] of points.entries()) {
      const expected = forecast[i] as number;
      t.true(Math.abs(p.yhat - expected) <= 1e-9 * Math.abs(expected), `day ${i}: ${p.yhat} vs ${expected}`);
    }
  }
  t.deepEqual((await readdir(dir)).sort(), ['0.tar.gz', '1.tar.gz', '2.tar.gz'], 'no temporary file is left behind');
});

test('the archive holds the bytes node-tar\'s Pack writes for model.json, and its folder is created when missing', async (t) => {
  const dir = await tempDir(t);
  const doc = first();
  const file = path.join(dir, 'new', 'folder', 'c.tar.gz');
  await writeModelArchive(file, doc);
  const reference = path.join(dir, 'reference.tar.gz');
  const data = Buffer.from(JSON.stringify(doc));
  await craftArchive(reference, [{ header: { path: 'model.json', type: 'File', mode: 0o644, size: data.length, mtime: new Date(doc.trainedAt) }, data }]);
  t.true(gunzipSync(await readFile(file)).equals(gunzipSync(await readFile(reference))));
});

test('a model trained without changepoints is written, read and replayed (Prophet keeps one at t = 0)', async (t) => {
  const dir = await tempDir(t);
  const noChangepoints: ProphetSettings = { ...settings, nChangepoints: 0 };
  const history = series(365);
  const model = fitProphet(history, noChangepoints);
  const expected = model.forecast(7).map((p) => p.yhat);
  const doc: ModelDocument = { ...first(), prophet: noChangepoints, history, fit: model.fit };
  model.free();
  t.is(doc.fit.delta.length, 1);
  const file = path.join(dir, 'flat.tar.gz');
  await writeModelArchive(file, doc);
  const replayed = replayModel(await readModelArchive(file));
  t.deepEqual(replayed.forecast(7).map((p) => p.yhat), expected);
  replayed.free();
});

test('coefficients follow their columns by identity, not by position', (t) => {
  const { doc, forecast } = trained[0] as { doc: ModelDocument; forecast: number[] };
  const reordered = structuredClone(doc);
  reordered.fit.columns.reverse();
  reordered.fit.beta.reverse();
  const model = replayModel(reordered);
  const same = model.forecast(30).map((p) => p.yhat);
  model.free();
  same.forEach((v, i) => t.true(Math.abs(v - (forecast[i] as number)) <= 1e-9 * Math.abs(forecast[i] as number)));

  const misplaced = structuredClone(doc);
  misplaced.fit.beta.reverse();
  const wrong = replayModel(misplaced);
  const moved = wrong.forecast(30).map((p) => p.yhat);
  wrong.free();
  t.true(moved.some((v, i) => Math.abs(v - (forecast[i] as number)) > 1e-3 * Math.abs(forecast[i] as number)), 'the coefficients do matter');
});

test('intervals come from the stored uncertainty samples, or an override', (t) => {
  const model = replayModel(first(), { uncertaintySamples: 200 });
  const points = model.forecast(7);
  model.free();
  for (const p of points) t.true(p.yhat_lower < p.yhat && p.yhat < p.yhat_upper);
  const point = replayModel(first());
  const flat = point.forecast(7);
  point.free();
  for (const p of flat) t.true(p.yhat_lower === p.yhat && p.yhat_upper === p.yhat);
});

test('extract then read the folder, as a multi-model endpoint host does', async (t) => {
  const dir = await tempDir(t);
  await writeModelArchive(path.join(dir, 'm.tar.gz'), first());
  await extractModelArchive(path.join(dir, 'm.tar.gz'), path.join(dir, 'models', 'abc', 'model'));
  t.deepEqual(await readModelDirectory(path.join(dir, 'models', 'abc', 'model')), first());
});

test('extracting from the archive bytes writes what extracting the file does and returns the unpacked size', async (t) => {
  const dir = await tempDir(t);
  const json = modelJson();
  const file = path.join(dir, 'm.tar.gz');
  // A nested file, and a path given twice (the later entry is what ends up on disk).
  await craftArchive(file, [
    { header: { path: 'model.json', type: 'File', size: json.length, mode: 0o644 }, data: json },
    { header: { path: 'extra/notes.txt', type: 'File', size: 3, mode: 0o644 }, data: Buffer.from('old') },
    { header: { path: 'extra/notes.txt', type: 'File', size: 5, mode: 0o644 }, data: Buffer.from('newer') },
  ]);
  const target = path.join(dir, 'from-bytes');
  const size = await extractModelArchiveBytes(await readFile(file), 'm.tar.gz', target);
  t.is(size, json.length + 5);
  t.is(await extractModelArchive(file, path.join(dir, 'from-file')), size);
  t.is((await stat(path.join(target, 'model.json'))).size + (await stat(path.join(target, 'extra', 'notes.txt'))).size, size);
  t.is(await readFile(path.join(target, 'extra', 'notes.txt'), 'utf8'), 'newer');
  t.deepEqual(await readModelDirectory(target), await readModelDirectory(path.join(dir, 'from-file')));

  const unsafe = path.join(dir, 'unsafe.tar.gz');
  await craftArchive(unsafe, [
    { header: { path: 'model.json', type: 'File', size: json.length, mode: 0o644 }, data: json },
    { header: { path: '../escape.txt', type: 'File', size: 1, mode: 0o644 }, data: Buffer.from('x') },
  ]);
  const error = await t.throwsAsync(extractModelArchiveBytes(await readFile(unsafe), 'unsafe.tar.gz', path.join(dir, 'out-unsafe')), { instanceOf: ModelArtifactError });
  t.is(error?.code, 'E_ARCHIVE_UNSAFE');
  t.regex(error?.message ?? '', /^unsafe\.tar\.gz: entry "\.\.\/escape\.txt" points outside the target folder/);
  await t.throwsAsync(readdir(path.join(dir, 'out-unsafe')), { code: 'ENOENT' });
});

test('wrong format id or version is refused with E_MODEL_FORMAT', (t) => {
  const wrongVersion = { ...first(), formatVersion: 2 };
  const error = t.throws(() => parseModelDocument(wrongVersion), { instanceOf: ModelArtifactError });
  t.is(error?.code, 'E_MODEL_FORMAT');
  t.regex(error?.message ?? '', /formatVersion 2 is not supported.*version 1/);
  t.is(t.throws(() => parseModelDocument({ ...first(), format: 'prophet-json' }), { instanceOf: ModelArtifactError })?.code, 'E_MODEL_FORMAT');
});

test('bad shapes are refused and the message names the field', (t) => {
  const cases: [string, (d: ModelDocument) => void, RegExp][] = [
    ['beta too short', (d) => d.fit.beta.pop(), /fit\.beta must be an array of \d+ numbers/],
    ['y shorter than ds', (d) => d.history.y.pop(), /history\.y must be an array of 365 numbers/],
    ['non-finite coefficient', (d) => ((d.fit.beta as unknown[])[3] = null), /fit\.beta\[3\] must be a finite number/],
    ['missing metrics', (d) => delete (d as Partial<ModelDocument>).metrics, /metrics must be an object/],
    ['tagged seasonality', (d) => ((d.prophet as unknown as Record<string, unknown>).yearlySeasonality = true), /prophet\.yearlySeasonality must be an object/],
    ['ds not increasing', (d) => (d.history.ds[5] = d.history.ds[4] as number), /history\.ds\[5\] must be greater/],
    ['bad customer id', (d) => (d.customerId = '../7'), /customerId must be an id/],
  ];
  for (const [name, mutate, message] of cases) {
    const doc = first();
    mutate(doc);
    const error = t.throws(() => parseModelDocument(doc), { instanceOf: ModelArtifactError }, name);
    t.is(error?.code, 'E_MODEL_SHAPE', name);
    t.regex(error?.message ?? '', message, name);
  }
});

test('replay refuses coefficient arrays of the wrong length, which augurs would accept', (t) => {
  const doc = first();
  doc.fit.delta = doc.fit.delta.slice(0, 10);
  const error = t.throws(() => replayModel(doc), { instanceOf: ModelArtifactError });
  t.is(error?.code, 'E_MODEL_SHAPE');
  t.regex(error?.message ?? '', /fit\.delta has 10 values but the model has 25 changepoints/);
});

test('a model is never replayed on other data: history, data hash and column checks', (t) => {
  const altered = first();
  altered.history.y[100] = (altered.history.y[100] as number) + 1;
  t.is(t.throws(() => parseModelDocument(altered), { instanceOf: ModelArtifactError })?.code, 'E_MODEL_HASH');

  const otherData = first();
  otherData.fit.dataHash = 'f'.repeat(64);
  const error = t.throws(() => replayModel(otherData), { instanceOf: ModelArtifactError });
  t.is(error?.code, 'E_MODEL_HASH');
  t.regex(error?.message ?? '', /does not match fit\.dataHash/);

  const otherOptions = first();
  otherOptions.prophet.weeklySeasonality = { type: 'fourier', order: 4 };
  otherOptions.fit.beta.push(0, 0);
  otherOptions.fit.columns.push('0'.repeat(32), '1'.repeat(32));
  t.is(t.throws(() => replayModel(parseModelDocument(otherOptions)), { instanceOf: ModelArtifactError })?.code, 'E_MODEL_HASH');
});

test('corrupt archives are refused with E_ARCHIVE_CORRUPT or E_MODEL_* codes', async (t) => {
  const dir = await tempDir(t);
  const good = path.join(dir, 'good.tar.gz');
  await writeModelArchive(good, first());
  const bytes = await import('node:fs/promises').then((fs) => fs.readFile(good));
  const cases: [string, Buffer, string][] = [
    ['not gzip', Buffer.from('hello, not an archive'), 'E_ARCHIVE_CORRUPT'],
    ['truncated', bytes.subarray(0, Math.floor(bytes.length / 2)), 'E_ARCHIVE_CORRUPT'],
    ['gzip of garbage', gzipSync(Buffer.alloc(2048, 7)), 'E_ARCHIVE_CORRUPT'],
  ];
  for (const [name, content, code] of cases) {
    const file = path.join(dir, `${name}.tar.gz`);
    await writeFile(file, content);
    const error = await t.throwsAsync(readModelArchive(file), { instanceOf: ModelArtifactError }, name);
    t.is(error?.code as string | undefined, code, `${name}: ${error?.message}`);
  }
  const noModel = path.join(dir, 'nomodel.tar.gz');
  await craftArchive(noModel, [{ header: { path: 'other.json', type: 'File', size: 2, mode: 0o644 }, data: Buffer.from('{}') }]);
  t.is((await t.throwsAsync(readModelArchive(noModel), { instanceOf: ModelArtifactError }))?.code, 'E_MODEL_MISSING');
  const notJson = path.join(dir, 'notjson.tar.gz');
  await craftArchive(notJson, [{ header: { path: 'model.json', type: 'File', size: 5, mode: 0o644 }, data: Buffer.from('{oops') }]);
  t.is((await t.throwsAsync(readModelArchive(notJson), { instanceOf: ModelArtifactError }))?.code, 'E_MODEL_JSON');
});

test('unsafe entries are refused and nothing is extracted', async (t) => {
  const dir = await tempDir(t);
  const json = modelJson();
  const model = { header: { path: 'model.json', type: 'File' as const, size: json.length, mode: 0o644 }, data: json };
  const cases: [string, Parameters<typeof craftArchive>[1], RegExp][] = [
    ['dot-dot', [model, { header: { path: '../escape.txt', type: 'File', size: 1, mode: 0o644 }, data: Buffer.from('x') }], /outside the target folder/],
    ['nested dot-dot', [model, { header: { path: 'a/../../escape.txt', type: 'File', size: 1, mode: 0o644 }, data: Buffer.from('x') }], /outside the target folder/],
    ['absolute', [model, { header: { path: '/tmp/escape.txt', type: 'File', size: 1, mode: 0o644 }, data: Buffer.from('x') }], /absolute path/],
    ['symlink', [{ header: { path: 'model.json', type: 'SymbolicLink', linkpath: '/etc/passwd', size: 0, mode: 0o777 } }], /SymbolicLink; only regular files/],
    ['hard link', [model, { header: { path: 'copy.json', type: 'Link', linkpath: 'model.json', size: 0, mode: 0o644 } }], /Link; only regular files/],
    ['oversized', [model, { header: { path: 'big.bin', type: 'File', size: ARCHIVE_LIMITS.maxEntryBytes + 1, mode: 0o644 } }], /over the \d+-byte limit/],
  ];
  for (const [name, entries, message] of cases) {
    const file = path.join(dir, `${name}.tar.gz`);
    await craftArchive(file, entries);
    const target = path.join(dir, `out-${name}`);
    const error = await t.throwsAsync(extractModelArchive(file, target), { instanceOf: ModelArtifactError }, name);
    t.is(error?.code, 'E_ARCHIVE_UNSAFE', `${name}: ${error?.message}`);
    t.regex(error?.message ?? '', message, name);
    await t.throwsAsync(readdir(target), { code: 'ENOENT' }, `${name}: nothing written`);
    t.is((await t.throwsAsync(readModelArchive(file), { instanceOf: ModelArtifactError }))?.code, 'E_ARCHIVE_UNSAFE', name);
  }
  const bomb = path.join(dir, 'bomb.tar.gz');
  await writeFile(bomb, gzipSync(Buffer.alloc(ARCHIVE_LIMITS.maxUncompressedBytes + 1024)));
  const error = await t.throwsAsync(readModelArchive(bomb), { instanceOf: ModelArtifactError });
  t.is(error?.code, 'E_ARCHIVE_UNSAFE');
  t.regex(error?.message ?? '', /unpacks to more than/);
});
