import test from 'ava';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { text } from 'node:stream/consumers';
import { MersenneTwister } from '../../runtime/dataset/mersenne-twister.js';
import {
  DATASET_HEADER,
  DATASET_PRESETS,
  isDatasetPreset,
  customerProfiles,
  datasetChunks,
  generateDataset,
  resolveDatasetOptions,
  writeDataset,
} from '../../runtime/dataset/generator.js';

const run = promisify(execFile);

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dataset-test-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the Mersenne Twister matches CPython random.seed(42)', (t) => {
  t.is(new MersenneTwister(42).random(), 0.6394267984578837);
});

test("per-customer draws reproduce the seed's exactly", (t) => {
  const profiles = customerProfiles({ customers: 9, seed: 42 });
  t.deepEqual(
    [profiles[0]!.baseline, profiles[0]!.amplitude, profiles[0]!.phase],
    [819.7133992289419, 102.50107552226669, 1.7280601722204667],
  );
  t.deepEqual(
    [profiles[8]!.baseline, profiles[8]!.amplitude, profiles[8]!.phase],
    [978.6065361033907, 133.65945451126268, 0.5827393204281244],
  );
});

test("default data set is the seed's meant formula: 1000 customers x 365 days of 2022", async (t) => {
  const lines = (await text(generateDataset())).trimEnd().split('\n');
  t.is(lines[0], DATASET_HEADER);
  t.is(lines.length, 1 + 1000 * 365);
  const [baseline, amplitude, phase] = [819.7133992289419, 102.50107552226669, 1.7280601722204667];
  t.is(lines[1], `0,2022-01-01,${baseline + amplitude * Math.sin(phase)}`);
  t.is(lines[3], `0,2022-01-03,${baseline + amplitude * Math.sin((2 * Math.PI * 2) / 365 + phase)}`);
  t.regex(lines[365]!, /^0,2022-12-31,/);
  t.regex(lines[366]!, /^1,2022-01-01,/);
  t.regex(lines.at(-1)!, /^999,2022-12-31,/);
  const values = lines.slice(1).map((line) => Number(line.split(',')[2]));
  t.true(values.every((v) => v >= 300 && v <= 1200));
});

test('same seed gives the same bytes; another seed differs; extras keep the seed draws', (t) => {
  const options = { customers: 20, days: 30, weekly: 0.2, noise: 0.05, seed: 7 };
  t.is([...datasetChunks(options)].join(''), [...datasetChunks(options)].join(''));
  t.not([...datasetChunks(options)].join(''), [...datasetChunks({ ...options, seed: 8 })].join(''));
  const plain = customerProfiles({ customers: 3, seed: 42 });
  const lines = [...datasetChunks({ customers: 3, days: 10, weekly: 0.3 })].join('').split('\n');
  t.not(lines[5], [...datasetChunks({ customers: 3, days: 10 })].join('').split('\n')[5]);
  t.deepEqual(customerProfiles({ customers: 3, seed: 42 }), plain);
});

test("npm start's data sets: seed is the seed's exact data; demo is the same customers with a weekly pattern and noise", (t) => {
  const values = (options: object) =>
    [...datasetChunks({ customers: 3, days: 56, ...options })].join('').trimEnd().split('\n').slice(1).map((row) => Number(row.split(',')[2]));
  t.deepEqual(values(DATASET_PRESETS.seed), values({}));
  const seed = values({});
  const demo = values(DATASET_PRESETS.demo);
  const profiles = customerProfiles({ customers: 3, seed: 42 });
  for (const [customer, profile] of profiles.entries()) {
    const deltas = demo.slice(customer * 56, (customer + 1) * 56).map((v, day) => v - seed[customer * 56 + day]!);
    const sd = Math.sqrt(deltas.reduce((sum, d) => sum + d * d, 0) / deltas.length);
    // Weekly ±10% (sd ≈ 7%) and noise sd 5% of the baseline: ≈ 8.7% in all.
    t.true(sd > 0.05 * profile.baseline && sd < 0.13 * profile.baseline, `customer ${customer}: deviation sd ${sd} around baseline ${profile.baseline}`);
  }
  t.true(isDatasetPreset('demo') && isDatasetPreset('seed'));
  t.false(isDatasetPreset('toString'), 'only the presets themselves, not what objects inherit');
});

test('weekly pattern has a 7-day period and noise stays non-negative', (t) => {
  const rows = [...datasetChunks({ customers: 1, days: 365, weekly: 0.5 })].join('').trimEnd().split('\n').slice(1);
  const [profile] = customerProfiles({ customers: 1, seed: 42 });
  const yearly = (day: number) => profile!.baseline + profile!.amplitude * Math.sin((2 * Math.PI * day) / 365 + profile!.phase);
  const weekly = rows.map((row, day) => Number(row.split(',')[2]) - yearly(day));
  t.true(Math.abs(weekly[3]! - weekly[10]!) < 1e-6);
  // Seven daily samples of a 7-day sine reach at least cos(π/7) of its peak.
  t.true(Math.max(...weekly) > 0.5 * Math.cos(Math.PI / 7) * profile!.baseline - 1e-9);
  const noisy = [...datasetChunks({ customers: 50, days: 100, noise: 1 })].join('').trimEnd().split('\n').slice(1);
  t.true(noisy.every((row) => Number(row.split(',')[2]) >= 0));
});

test('hourly rows carry ISO date-times, time order interleaves customers', (t) => {
  const lines = [...datasetChunks({ customers: 3, days: 2, frequency: 'hourly', order: 'time' })].join('').trimEnd().split('\n');
  t.is(lines.length, 1 + 3 * 48);
  t.regex(lines[1]!, /^0,2022-01-01T00:00:00Z,/);
  t.regex(lines[2]!, /^1,2022-01-01T00:00:00Z,/);
  t.regex(lines[4]!, /^0,2022-01-01T01:00:00Z,/);
  t.regex(lines.at(-1)!, /^2,2022-01-02T23:00:00Z,/);
});

test('options are validated with the option named', (t) => {
  t.throws(() => resolveDatasetOptions({ customers: 0 }), { message: /\[customers\]/ });
  t.throws(() => resolveDatasetOptions({ start: '2022-02-30' }), { message: /\[start\]/ });
  t.throws(() => resolveDatasetOptions({ noise: -1 }), { message: /\[noise\]/ });
  t.throws(() => resolveDatasetOptions({ frequency: 'weekly' as 'daily' }), { message: /\[frequency\]/ });
});

test('streams 10,000+ customers to a file and the CLI writes the same bytes', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'nested', 'big.csv');
  const result = await writeDataset(file, { customers: 12_000, days: 3, seed: 5 });
  t.deepEqual(result, { rows: 36_000, customers: 12_000 });
  const cliFile = path.join(dir, 'cli.csv');
  await run(process.execPath, ['--import=tsx', 'runtime/dataset/cli.ts', '--customers', '12000', '--days', '3', '--seed', '5', '--out', cliFile]);
  t.is(await fs.readFile(cliFile, 'utf8'), await fs.readFile(file, 'utf8'));
  const error = await t.throwsAsync(run(process.execPath, ['--import=tsx', 'runtime/dataset/cli.ts', '--days', 'x']));
  t.regex(String((error as { stderr?: string }).stderr), /\[days\] must be a number/);
});
