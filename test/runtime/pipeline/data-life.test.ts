import { mkdtemp, rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readModelArchive } from '../../../containers/shared/model-artifact.js';
import { createForecastClient } from '../../../runtime/client/forecast-client.js';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { datasetChunks, type DatasetOptions } from '../../../runtime/dataset/generator.js';
import { localPipelineEnvironment } from '../../../runtime/local/main.js';
import { modelKey, runModelsPrefix, trainingChannelKey } from '../../../runtime/pipeline/bucket-layout.js';
import type { PipelineStep, RunReport } from '../../../runtime/pipeline/report.js';
import { main as cleanupMain } from '../../../runtime/pipeline/cleanup-cli.js';
import { main as forgetMain } from '../../../runtime/pipeline/forget-cli.js';
import { CURRENT_MANIFEST_KEY, historyManifestKey, parseManifest } from '../../../runtime/pipeline/manifest.js';
import { runPipeline, type PipelineEvent } from '../../../runtime/pipeline/run-pipeline.js';
import { downloadToFile, listKeys } from '../../../runtime/pipeline/s3-objects.js';
import { startLocalPipeline, type LocalPipeline } from './local-pipeline.js';

/**
 * The data's life in local mode with the real SDK: corrections arriving in later drops, nights that
 * retrain only the customers whose data changed, and customers who stop sending data.
 */

const FAST_POLL = { minDelayMs: 100, maxDelayMs: 500 };
/** Heavy scenarios: several nights of real training on a shared machine. */
const SCENARIO_TIMEOUT_MS = 15 * 60_000;

/** Realistic series (weekly pattern, noise), so every new model passes the publishing gate. */
function rows(options: Partial<DatasetOptions>): string[] {
  return [...datasetChunks({ noise: 0.02, weekly: 0.1, ...options })].join('').trimEnd().split('\n').slice(1);
}

async function putDrop(local: LocalPipeline, key: string, lines: readonly string[]): Promise<void> {
  const body = `customer_id,timestamp,consumption\n${lines.join('\n')}\n`;
  await local.deps.s3.send(new PutObjectCommand({ Bucket: local.bucket, Key: key, Body: body, ContentType: 'text/csv' }));
}

async function night(local: LocalPipeline, scheduledTime: string, overrides: Record<string, string> = {}) {
  // These scenarios are about which customers train and what is kept, not about the gate's verdicts.
  const config = local.config({
    [PIPELINE_ENV.scheduledTime]: scheduledTime,
    [PIPELINE_ENV.maxRejectedFraction]: '1',
    // Short series where seasonal-naive can win: a rejected first-night model would make its customer "new" again.
    [PIPELINE_ENV.gateBaselineTolerance]: '100',
    [PIPELINE_ENV.gateChampionTolerance]: '100',
    [PIPELINE_ENV.gateSanityBand]: '1000',
    ...overrides,
  });
  // What each step printed, as the console shows it.
  const said = new Map<PipelineStep, string>();
  const onEvent = (event: PipelineEvent) => {
    if (event.type === 'step-finished') said.set(event.step, event.summary);
  };
  const result = await runPipeline({ config, deps: local.deps, backoff: FAST_POLL, onEvent });
  const report = JSON.parse(await local.getText(`runs/${result.runId}/report.json`)) as RunReport;
  return { ...result, report, said };
}

/** The CLIs build their own SDK clients from the process environment, as they do for users. */
function pointSdkAt(t: ExecutionContext, local: LocalPipeline): NodeJS.ProcessEnv {
  const saved = { ...process.env };
  t.teardown(() => {
    process.env = saved;
  });
  Object.assign(process.env, { AWS_ENDPOINT_URL: local.endpointUrl, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
  return process.env;
}

async function modelIds(local: LocalPipeline, runId: string): Promise<string[]> {
  const prefix = runModelsPrefix(runId);
  return (await listKeys(local.deps.s3, local.bucket, prefix)).map((key) => key.slice(prefix.length).replace(/\.tar\.gz$/, '')).sort((a, b) => Number(a) - Number(b));
}

test.serial('a later drop corrects 10 values and the model is fitted on them; a timestamp repeated inside one drop is quarantined', async (t) => {
  t.timeout(SCENARIO_TIMEOUT_MS);
  const local = await startLocalPipeline(t);
  const first = rows({ customers: 3, days: 100 });
  const repeated = first.find((row) => row.startsWith('2,2022-03-01,'))!;
  await putDrop(local, 'raw/2026-11-25.csv', [...first, '2,2022-03-01,1234.5']);
  const corrected = Array.from({ length: 10 }, (_, i) => `1,2022-03-${String(i + 1).padStart(2, '0')},4321.25`);
  await putDrop(local, 'raw/2026-11-25T1430.csv', corrected);

  const run = await night(local, '2026-11-26T01:00:00Z');
  t.is(run.report.corrections, 10);
  t.deepEqual(Object.keys(run.manifest.models), ['0', '1', '2']);
  const quarantine = await local.getText(`runs/${run.runId}/processing-report/quarantine.csv`);
  t.deepEqual(
    quarantine.trimEnd().split('\n').slice(1).map((line) => line.split(',').slice(0, 3)),
    [['2026-11-25.csv', String(first.length + 2), 'duplicate_timestamp']],
  );

  const dir = await mkdtemp(path.join(os.tmpdir(), 'data-life-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'model.tar.gz');
  await downloadToFile(local.deps.s3, local.bucket, modelKey(run.runId, '1'), file);
  const model = await readModelArchive(file);
  t.is(model.history.y.filter((y) => y === 4321.25).length, 10, 'the model is fitted on the corrected values');
  await downloadToFile(local.deps.s3, local.bucket, modelKey(run.runId, '2'), file);
  const kept = Number(repeated.split(',')[2]);
  t.true((await readModelArchive(file)).history.y.includes(kept), 'the drop keeps its first row at a repeated timestamp');
});

test.serial('a second night trains only the 5 of 50 customers with new rows, --retrain-all trains all 50, and customers without recent rows leave', async (t) => {
  t.timeout(SCENARIO_TIMEOUT_MS);
  const local = await startLocalPipeline(t);
  const customers = 50;
  await putDrop(local, 'raw/2026-11-25.csv', rows({ customers, days: 100, noise: 0.02 }));
  const one = await night(local, '2026-11-26T01:00:00Z');
  t.is((await modelIds(local, one.runId)).length, customers);
  t.is(one.report.decisions?.unchanged, 0);

  // Three more days for five customers only.
  const changed = ['3', '11', '19', '27', '44'];
  const later = rows({ customers, days: 103, noise: 0.02 }).filter((row) => row > '' && changed.includes(row.split(',')[0]!) && row.split(',')[1]! > '2022-04-10');
  t.is(later.length, 15);
  await putDrop(local, 'raw/2026-11-26.csv', later);
  const two = await night(local, '2026-11-27T01:00:00Z');
  const channel = JSON.parse(await local.getText(trainingChannelKey(two.runId))) as unknown[];
  t.deepEqual(channel, [{ prefix: `s3://${local.bucket}/runs/${two.runId}/customer-data/` }, ...changed.map((id) => `${id}.csv`)]);
  t.deepEqual(await modelIds(local, two.runId), changed, 'exactly the changed customers were trained');
  t.like(two.report.retraining, { trained: 5, reasons: { new: 0, data: 5, settings: 0, forced: 0 } });
  t.is(two.said.get('publishing'), 'published: 50 customers in the manifest (5 new models, 45 unchanged, 0 kept an older model)', 'carried-over customers are not ones that kept an older model');
  const unchanged = (two.report.outcomes ?? []).filter((o) => o.decision === 'unchanged');
  t.is(unchanged.length, 45);
  t.true(unchanged.every((o) => o.servedRunId === one.runId && !changed.includes(o.customerId)));
  for (const [id, entry] of Object.entries(two.manifest.models)) {
    if (changed.includes(id)) t.is(entry.runId, two.runId);
    else t.deepEqual(entry, one.manifest.models[id]);
  }

  // A full retrain, as `npm start -- --retrain-all` asks for it.
  const retrainAll = localPipelineEnvironment({ bucket: local.bucket, endpointName: local.endpointName, instances: 2, dataDir: local.dataDir, retrainAll: true });
  const three = await night(local, '2026-11-28T01:00:00Z', { [PIPELINE_ENV.fullRetrain]: retrainAll[PIPELINE_ENV.fullRetrain]! });
  t.is((await modelIds(local, three.runId)).length, customers);
  t.like(three.report.retraining, { fullRetrain: true, trained: 50, reasons: { forced: 50 } });

  // No new data: nothing to train, and the 45 customers whose last row is 3 days older than the
  // newest leave under a 2-day window; the manifest is still published. Three nights on, the 5 who
  // stay are served by models of their newest data, so however old those models are, none is stale.
  const four = await night(local, '2026-12-01T01:00:00Z', { [PIPELINE_ENV.dropAfterDays]: '2', [PIPELINE_ENV.maxModelAgeDays]: '1' });
  t.is(four.publishOutcome, 'published');
  t.deepEqual(four.report.stale?.customers, [], 'a model carried over with unchanged data is not stale');
  t.is(four.report.steps.find((s) => s.step === 'training')?.jobName, undefined);
  t.deepEqual(await modelIds(local, four.runId), []);
  t.deepEqual(Object.keys(four.manifest.models), changed);
  t.like(four.report.decisions, { unchanged: 5, dropped: 45 });
  t.regex((four.report.outcomes ?? []).find((o) => o.customerId === '0')?.reason ?? '', /more than 2 days before the newest row/);
  const client = createForecastClient({ bucket: local.bucket, endpointName: local.endpointName, s3: local.deps.s3, runtime: local.deps.runtime, manifestTtlMs: 0 });
  t.is((await client.forecast('3', 7)).runId, three.runId);
  await t.throwsAsync(client.forecast('0', 7));
});

test.serial('cleanup after several nights with a short retention deletes only what no kept manifest references', async (t) => {
  t.timeout(SCENARIO_TIMEOUT_MS);
  const local = await startLocalPipeline(t);
  const all = rows({ customers: 3, days: 100 });
  const upTo = (day: string) => all.filter((row) => row.split(',')[1]! <= day);
  // Customer 0 gets a new row every night; customers 1 and 2 keep the first night's models.
  await putDrop(local, 'raw/2026-11-20.csv', upTo('2022-04-07'));
  const nights: Awaited<ReturnType<typeof night>>[] = [];
  for (const [i, day] of ['2022-04-08', '2022-04-09', '2022-04-10'].entries()) {
    nights.push(await night(local, `2026-11-${20 + i}T01:00:00Z`));
    await putDrop(local, `raw/2026-11-${21 + i}.csv`, all.filter((row) => row.startsWith('0,') && row.split(',')[1] === day));
  }
  const before = await Promise.all(['models/', 'runs/', 'manifests/'].map((prefix) => listKeys(local.deps.s3, local.bucket, prefix)));
  const [first, second, third] = nights.map((n) => n.runId);

  // A dry run as of night 4 with a 1-day retention says what would go, and deletes nothing.
  const out: string[] = [];
  const io = { env: pointSdkAt(t, local), stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text) };
  const cliArgs = ['--bucket', local.bucket, '--retention-days', '1', '--timezone', 'Europe/Paris', '--now', '2026-11-23T01:00:00Z'];
  t.is(await cleanupMain([...cliArgs, '--dry-run'], io), 0, out.join(''));
  const said = out.join('');
  t.regex(said, new RegExp(`would delete model of run ${first}: older than the 1-day retention \\(run before 20261122-0200\\) and referenced by no kept manifest \\(1 object`));
  t.regex(said, new RegExp(`keep model of run ${first}: .*but manifests/current.json references it \\(2 objects`));
  t.deepEqual(await Promise.all(['models/', 'runs/', 'manifests/'].map((prefix) => listKeys(local.deps.s3, local.bucket, prefix))), before);

  // Night 4 cleans up as its last step.
  const four = await night(local, '2026-11-23T01:00:00Z', { [PIPELINE_ENV.retentionDays]: '1' });
  t.like(four.report.cleanup, { cutoffRunId: '20261122-0200', removed: { byKind: { model: 2, 'history-manifest': 2 }, runs: [first, second] }, kept: { objects: 2 } });
  t.deepEqual(await modelIds(local, first!), ['1', '2'], 'the first night models of customers 1 and 2 are still served');
  t.deepEqual(await modelIds(local, second!), []);
  t.deepEqual(await modelIds(local, third!), ['0']);
  t.deepEqual(await listKeys(local.deps.s3, local.bucket, `runs/${first}/`), []);
  t.true((await listKeys(local.deps.s3, local.bucket, `runs/${third}/`)).length > 0);
  const history = await listKeys(local.deps.s3, local.bucket, 'manifests/history/');
  t.deepEqual(history, [historyManifestKey(third!), historyManifestKey(four.runId)]);
  t.true((await listKeys(local.deps.s3, local.bucket, 'raw/')).length === 4, 'raw drops are never cleanup candidates');
  const client = createForecastClient({ bucket: local.bucket, endpointName: local.endpointName, s3: local.deps.s3, runtime: local.deps.runtime, manifestTtlMs: 0 });
  for (const id of ['0', '1', '2']) t.is((await client.forecast(id, 7)).customerId, id);
});

test.serial('forget leaves no object named after the customer or holding one of their rows, and the endpoint stops serving them', async (t) => {
  t.timeout(SCENARIO_TIMEOUT_MS);
  const local = await startLocalPipeline(t);
  const all = rows({ customers: 3, days: 100 });
  const gone = '1';
  const theirs = all.filter((row) => row.startsWith(`${gone},`));
  const values = theirs.map((row) => row.split(',')[2]!);
  await putDrop(local, 'raw/2026-11-20.csv', [...all.filter((row) => row.split(',')[1]! < '2022-04-10'), theirs[5]!]);
  const one = await night(local, '2026-11-20T01:00:00Z');
  await putDrop(local, 'raw/2026-11-21.csv', all.filter((row) => row.split(',')[1] === '2022-04-10'));
  const two = await night(local, '2026-11-21T01:00:00Z');
  t.deepEqual(await modelIds(local, two.runId), ['0', '1', '2']);

  const env = pointSdkAt(t, local);
  const scan = async () => {
    const found: string[] = [];
    for (const key of await listKeys(local.deps.s3, local.bucket, '')) {
      const name = path.posix.basename(key);
      if (name === `${gone}.csv` || name === `${gone}.tar.gz`) found.push(`${key}: named after the customer`);
      const response = await local.deps.s3.send(new GetObjectCommand({ Bucket: local.bucket, Key: key }));
      const bytes = Buffer.from(await response.Body!.transformToByteArray());
      const text = (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('latin1');
      const value = values.find((v) => text.includes(v));
      if (value !== undefined) found.push(`${key}: holds their value ${value}`);
    }
    return found;
  };
  const before = await scan();
  t.true(before.some((f) => f.startsWith('raw/')) && before.some((f) => f.includes('/customer-data/')) && before.some((f) => f.startsWith('models/')));
  t.true(before.some((f) => f.includes('quarantine.csv: holds their value')), before.join('\n'));

  const dry: string[] = [];
  t.is(await forgetMain(['--customer', gone, '--bucket', local.bucket, '--dry-run'], { env, stdout: (text) => dry.push(text), stderr: (text) => dry.push(text) }), 0, dry.join(''));
  t.regex(dry.join(''), /would remove from 3 manifest\(s\), 4 object\(s\) to delete/);
  t.deepEqual(await scan(), before, 'a dry run changes nothing');

  const said: string[] = [];
  t.is(await forgetMain(['--customer', gone, '--bucket', local.bucket], { env, stdout: (text) => said.push(text), stderr: (text) => said.push(text) }), 0, said.join(''));
  t.regex(said.join(''), /removed from 3 manifest\(s\), 4 object\(s\) deleted/);
  t.deepEqual(await scan(), []);
  for (const key of [CURRENT_MANIFEST_KEY, historyManifestKey(one.runId), historyManifestKey(two.runId)]) {
    t.deepEqual(Object.keys(parseManifest(await local.getText(key)).models), ['0', '2']);
  }
  const client = createForecastClient({ bucket: local.bucket, endpointName: local.endpointName, s3: local.deps.s3, runtime: local.deps.runtime, manifestTtlMs: 0 });
  await t.throwsAsync(client.forecast(gone, 7));
  t.is((await client.forecast('2', 7)).customerId, '2');
  t.is(await forgetMain(['--customer', '../1'], { env, stdout: () => {}, stderr: () => {} }), 1, 'an id that is not one is refused');
});
