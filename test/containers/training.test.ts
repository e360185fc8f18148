import test from 'ava';
import { execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readModelArchive } from '../../containers/shared/model-artifact.js';
import { sagemakerPaths } from '../../containers/shared/sagemaker-paths.js';
import { CustomerFileError, parseCustomerCsv, parseTimestamp } from '../../containers/training/customer-series.js';
import { HyperparameterError, parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { runTrainingJob } from '../../containers/training/job.js';
import type { HostSummary } from '../../containers/training/job.js';
import { writeTrainingChannel } from './training-fixture.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..');

async function tempBase(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'training-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const quiet = { signal: new AbortController().signal, log: () => {} };

test('customer files: header, order, duplicates and sub-daily rows', (t) => {
  const daily = parseCustomerCsv('timestamp,consumption\n2022-01-03,3\n2022-01-01,1\n2022-01-02,2\n', '7.csv');
  t.deepEqual(daily, { ds: [1640995200, 1641081600, 1641168000], y: [1, 2, 3], rows: 3 });
  t.deepEqual(parseCustomerCsv('7,2022-01-01,1\n7,2022-01-02,2\n', '7.csv').y, [1, 2], 'headerless raw layout');
  t.deepEqual(parseCustomerCsv('customer_id,timestamp,consumption\n7,2022-01-01T00:00:00Z,5\n', '7.csv').y, [5]);
  const hourly = ['timestamp,consumption', '2022-01-01T23:00:00Z,9'];
  for (const day of ['02', '03']) for (let h = 0; h < 24; h++) hourly.push(`2022-01-${day}T${String(h).padStart(2, '0')}:00:00Z,1`);
  hourly.push('2022-01-04T00:00:00Z,9');
  t.deepEqual(parseCustomerCsv(hourly.join('\n'), '7.csv'), { ds: [1641081600, 1641168000], y: [24, 24], rows: 50 }, 'partial first and last days dropped');

  const plain = parseCustomerCsv('timestamp,consumption\n2022-01-01,1.5\n\n2022-01-02T00:00:00Z,2e1\n', '7.csv');
  t.deepEqual(plain, { ds: [1640995200, 1641081600], y: [1.5, 20], rows: 2 }, 'the processing job\'s layout, read without csv-parse');
  for (const variant of ['timestamp,consumption\r\n2022-01-01,1.5\r\n2022-01-02T00:00:00Z,2e1\r\n', 'timestamp, consumption\n"2022-01-01", 1.5\n2022-01-02T00:00:00Z,"2e1"\n']) {
    t.deepEqual(parseCustomerCsv(variant, '7.csv'), plain, `the same through csv-parse: ${JSON.stringify(variant)}`);
  }

  t.is(parseTimestamp('2024-02-29'), Date.UTC(2024, 1, 29) / 1000);
  t.is(parseTimestamp('2000-02-29'), Date.UTC(2000, 1, 29) / 1000);
  for (const impossible of ['2023-02-29', '1900-02-29', '2022-04-31', '2022-13-01', '2022-00-10', '2022-01-00']) t.is(parseTimestamp(impossible), undefined, impossible);
  t.is(parseTimestamp('0099-01-01'), Date.parse('0099-01-01T00:00:00Z') / 1000, 'a two-digit year is not read as 19xx');

  const bad: [string, RegExp][] = [
    ['timestamp,consumption\n2022-01-01,1\n2022-01-01,2\n', /lines 2 and 3 have the same timestamp/],
    ['timestamp,consumption\n2022-01-01,1\n2022-01-02\n', /line 3 has 1 columns, expected 2/],
    ['timestamp,consumption\n2022-01-01,-1\n', /line 2: consumption "-1" is not a finite number >= 0/],
    ['timestamp,consumption\nyesterday,1\n', /line 2: "yesterday" is not a timestamp/],
    ['timestamp,consumption\n', /header but no rows/],
    ['', /the file is empty/],
  ];
  for (const [text, message] of bad) t.throws(() => parseCustomerCsv(text, '7.csv'), { instanceOf: CustomerFileError, message });
});

test('hyperparameters: strings with defaults, JSON-encoded values, clear refusals', (t) => {
  const defaults = parseHyperparameters({}, {});
  t.is(defaults.holdoutDays, 14);
  t.deepEqual(defaults.prophet.yearlySeasonality, { type: 'fourier', order: 4 }, 'yearly decided explicitly');
  t.deepEqual(defaults.prophet.weeklySeasonality, { type: 'manual', enabled: true });
  t.is(defaults.runId, 'local');
  const given = parseHyperparameters({ holdout_days: '"7"', yearly_seasonality: 'auto', run_id: '2026-11-26', sagemaker_program: 'x' }, {});
  t.is(given.holdoutDays, 7);
  t.deepEqual(given.prophet.yearlySeasonality, { type: 'auto' });
  t.is(given.runId, '2026-11-26');
  t.throws(() => parseHyperparameters({ holdout_days: '1.5' }), { instanceOf: HyperparameterError, message: /holdout_days="1.5" is invalid: expected integer >= 1/ });
  t.is(defaults.optimizer, 'auto');
  t.is(parseHyperparameters({ optimizer: 'stan' }, {}).optimizer, 'stan');
  t.throws(() => parseHyperparameters({ optimizer: 'newton' }, {}), { instanceOf: HyperparameterError, message: /optimizer="newton" is invalid: expected auto or stan/ });
  t.throws(() => parseHyperparameters({ holdout: '7' }), { instanceOf: HyperparameterError, message: /unknown hyperparameter holdout; expected any of: run_id, holdout_days/ });
});

test('a shard with one corrupt customer trains the others and records the failure', async (t) => {
  const base = await tempBase(t);
  const ids = await writeTrainingChannel(base, { customers: 6, weekly: 0.1, noise: 0.05 }, { max_failed_fraction: '0.2', run_id: 'night-1' });
  const paths = sagemakerPaths(base);
  await appendFile(path.join(paths.channel('train'), '3.csv'), '2023-01-01,not-a-number\n');
  const { summary, failure } = await runTrainingJob(paths, quiet);
  t.is(failure, undefined);
  t.is(summary.status, 'succeeded');
  t.deepEqual(summary.customers, { total: 6, trained: 5, resumed: 0, failed: 1, interrupted: 0 });
  t.is(summary.timing.workers, 1, 'six customers train on one thread, whatever the CPUs');
  const failed = summary.results.find((r) => r.status === 'failed');
  t.like(failed, { customerId: '3', status: 'failed' });
  t.regex((failed as { reason: string }).reason, /3\.csv: line 367: consumption "not-a-number"/);
  const checkpoints = (await readdir(paths.checkpoints)).sort();
  t.deepEqual(checkpoints, ids.filter((id) => id !== '3').map((id) => `${id}.tar.gz`).sort());
  for (const name of checkpoints) {
    const doc = await readModelArchive(path.join(paths.checkpoints, name));
    t.is(`${doc.customerId}.tar.gz`, name);
    t.is(doc.runId, 'night-1');
    t.is(doc.history.ds.length, 365, 'refit on all data, holdout included');
    t.is(doc.metrics.trainPoints, 351);
  }
  const written = JSON.parse(await readFile(path.join(paths.model, 'summary-algo-1.json'), 'utf8')) as HostSummary;
  t.deepEqual(written.customers, summary.customers);
});

test('a setting only Stan can fit (multiplicative seasonality) still trains, as does optimizer=stan', async (t) => {
  for (const hyperparameters of [{ seasonality_mode: 'multiplicative' }, { optimizer: 'stan' }] as Record<string, string>[]) {
    const base = await tempBase(t);
    const ids = await writeTrainingChannel(base, { customers: 3, days: 120, weekly: 0.1, noise: 0.05 }, hyperparameters);
    const paths = sagemakerPaths(base);
    const { summary, failure } = await runTrainingJob(paths, quiet);
    t.is(failure, undefined, JSON.stringify(hyperparameters));
    t.deepEqual(summary.customers, { total: 3, trained: 3, resumed: 0, failed: 0, interrupted: 0 });
    for (const id of ids) t.true((await readModelArchive(path.join(paths.checkpoints, `${id}.tar.gz`))).fit.sigmaObs > 0);
  }
});

test('the job fails with a clear output/failure when too many customers fail', async (t) => {
  const base = await tempBase(t);
  await writeTrainingChannel(base, { customers: 4, days: 120 }, { max_failed_fraction: '0.25' });
  const paths = sagemakerPaths(base);
  await writeFile(path.join(paths.channel('train'), '1.csv'), '');
  await writeFile(path.join(paths.channel('train'), '2.csv'), 'timestamp,consumption\n2022-01-01,1\n');
  const result = await run(process.execPath, ['--import', 'tsx', 'containers/cli.ts', 'train'], {
    cwd: repo,
    env: { ...process.env, SAGEMAKER_BASE_DIR: base },
  }).catch((error: { code: number; stderr: string }) => error);
  t.is((result as { code?: number }).code, 1);
  const failure = await readFile(paths.failure, 'utf8');
  t.regex(failure, /^training failed on host algo-1: 2 of 4 customers failed \(50\.0%, over max_failed_fraction 25\.0%\)/);
  t.regex(failure, /1: 1\.csv: the file is empty/);
  t.regex(failure, /2: 2\.csv: 1 days of data; at least 42 are needed/);
  t.true(failure.length <= 1024);
  const summary = JSON.parse(await readFile(path.join(paths.model, 'summary-algo-1.json'), 'utf8')) as HostSummary;
  t.is(summary.status, 'failed');
  t.is(summary.customers.trained, 2);
});

test('a bad setup fails with a message naming what is wrong', async (t) => {
  const base = await tempBase(t);
  const paths = sagemakerPaths(base);
  await t.throwsAsync(runTrainingJob(paths, quiet), { message: /the train channel is missing: no folder .*input\/data\/train/ });
  await mkdir(paths.channel('train'), { recursive: true });
  await t.throwsAsync(runTrainingJob(paths, quiet), { message: /no customer files in the train channel/ });
  await mkdir(paths.inputConfig, { recursive: true });
  await writeFile(paths.hyperparameters, '{"seasonality_mode": "sideways"}');
  await t.throwsAsync(runTrainingJob(paths, quiet), { message: /seasonality_mode="sideways" is invalid: expected additive or multiplicative/ });
});

test('FullyReplicated input on two hosts: each host takes half of the customers', async (t) => {
  const base = await tempBase(t);
  await writeTrainingChannel(base, { customers: 4, days: 90 }, { holdout_days: '7' });
  const paths = sagemakerPaths(base);
  await writeFile(paths.resourceConfig, JSON.stringify({ current_host: 'algo-2', hosts: ['algo-1', 'algo-2'] }));
  await writeFile(paths.inputDataConfig, JSON.stringify({ train: { S3DistributionType: 'FullyReplicated' } }));
  const { summary } = await runTrainingJob(paths, quiet);
  t.is(summary.host, 'algo-2');
  t.deepEqual(summary.results.map((r) => r.customerId), ['1', '3']);
  t.deepEqual((await readdir(paths.model)), ['summary-algo-2.json']);
});
