import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ModelError, SageMakerRuntimeClient, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import test from 'ava';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { main as forecastCli } from '../../../runtime/client/cli.js';
import { createForecastClient, ForecastError } from '../../../runtime/client/forecast-client.js';
import { datasetChunks } from '../../../runtime/dataset/generator.js';
import { provisionLocalStack } from '../../../runtime/local/bootstrap.js';
import { startLocalAws } from '../../../runtime/local/edge-server.js';
import { LOCAL_DEFAULTS, localSdkEnvironment, runLocalPipeline, startLocalMode } from '../../../runtime/local/main.js';
import type { LocalModeRun } from '../../../runtime/local/main.js';
import { CURRENT_MANIFEST_KEY, MANIFEST_FORMAT_VERSION } from '../../../runtime/pipeline/manifest.js';

// One local stack for the file: the first run trains 4 customers on 2 instances, the last test
// restarts it with every model cold.
const bucket = LOCAL_DEFAULTS.bucket;
const endpointName = LOCAL_DEFAULTS.endpointName;
const firstRunTime = '2026-11-20T02:00:00Z';
const secondRunTime = '2026-11-21T02:00:00Z';
let dataDir: string;
let run: LocalModeRun;
let restarted: { close(): Promise<void> } | undefined;
const lines: string[] = [];

test.before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'forecast-client-'));
  run = await startLocalMode({
    port: 0,
    dataDir,
    customers: 4,
    instances: 2,
    bucket,
    endpointName,
    scheduledTime: firstRunTime,
    log: (line) => lines.push(line),
    localAws: { stopGraceMs: 2000 },
  });
});

test.after.always(async () => {
  await run?.close();
  await restarted?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test.serial('forecasts every customer in the manifest from its current model', async (t) => {
  const client = createForecastClient({ bucket, endpointName });
  const manifest = await client.manifest();
  t.deepEqual(Object.keys(manifest.models), ['0', '1', '2', '3']);
  for (const [customerId, entry] of Object.entries(manifest.models)) {
    const forecast = await client.forecast(customerId, 7);
    t.is(forecast.customerId, customerId);
    t.is(forecast.targetModel, entry.targetModel);
    t.is(forecast.runId, run.manifest.runId);
    t.is(forecast.forecast.length, 7);
    const days = forecast.forecast.map((p) => p.date);
    t.deepEqual(days, [...days].sort(), 'one entry per future day, in order');
  }
});

test.serial('an unknown customer is named with the manifest it is missing from', async (t) => {
  const client = createForecastClient({ bucket, endpointName });
  const error = await t.throwsAsync(client.forecast(999, 7), { instanceOf: ForecastError });
  t.is(error?.code, 'E_UNKNOWN_CUSTOMER');
  t.is(error?.customerId, '999');
  t.regex(error?.message ?? '', /customer 999 has no model in s3:\/\/forecast-local\/manifests\/current\.json/);
});

test.serial('an unknown endpoint surfaces as the SDK ValidationError', async (t) => {
  const client = createForecastClient({ bucket, endpointName: 'no-such-endpoint' });
  const error = await t.throwsAsync(client.forecast(0, 7), { instanceOf: ForecastError });
  t.is(error?.code, 'E_INVOKE_FAILED');
  t.true(error?.cause instanceof ValidationError);
  t.regex(error?.message ?? '', /customer 0: endpoint no-such-endpoint failed .*ValidationError/);
});

test.serial('a model missing from S3 and an unknown TargetModel surface as ValidationError', async (t) => {
  // A manifest in another bucket points at models that were never trained.
  const s3 = new S3Client({});
  t.teardown(() => s3.destroy());
  const otherBucket = 'forecast-broken-manifest';
  await s3.send(new CreateBucketCommand({ Bucket: otherBucket }));
  const noManifest = await t.throwsAsync(createForecastClient({ bucket: otherBucket, endpointName }).forecast(0, 7), { instanceOf: ForecastError });
  t.is(noManifest?.code, 'E_NO_MANIFEST');
  t.regex(noManifest?.message ?? '', /cannot read s3:\/\/forecast-broken-manifest\/manifests\/current\.json \(NoSuchKey\): no run has been published yet/);
  const entry = (targetModel: string) => ({ targetModel, runId: 'ghost', trainedAt: '2026-11-19T02:00:00Z', metrics: {} });
  const manifest = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    runId: 'ghost',
    publishedAt: '2026-11-19T03:00:00Z',
    endpointName,
    models: { '0': entry(`${run.manifest.runId}/999.tar.gz`), '1': entry('ghost/1.tar.gz') },
  };
  await s3.send(new PutObjectCommand({ Bucket: otherBucket, Key: CURRENT_MANIFEST_KEY, Body: JSON.stringify(manifest) }));
  const client = createForecastClient({ bucket: otherBucket, endpointName });
  for (const customerId of ['0', '1']) {
    const error = await t.throwsAsync(client.forecast(customerId, 7), { instanceOf: ForecastError });
    t.true(error?.cause instanceof ValidationError, `customer ${customerId}: ${error?.message}`);
    t.regex(error?.message ?? '', new RegExp(`customer ${customerId}: .*model ${manifest.models[customerId as '0']!.targetModel}`));
  }
});

test.serial('a bad payload surfaces as the SDK ModelError with the container status', async (t) => {
  const client = createForecastClient({ bucket, endpointName });
  for (const period of [0, 100_000]) {
    const error = await t.throwsAsync(client.forecast(0, period), { instanceOf: ForecastError });
    t.true(error?.cause instanceof ModelError, error?.message);
    t.is((error?.cause as ModelError).OriginalStatusCode, 400);
    t.regex(error?.message ?? '', /customer 0: .*ModelError/);
  }
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await forecastCli(args, {
    env: process.env,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

test.serial('cli: prints a table of the forecast', async (t) => {
  const { code, stdout, stderr } = await cli(['--customer', '2', '--period', '5']);
  t.is(code, 0, stderr);
  const lines = stdout.trimEnd().split('\n');
  t.regex(lines[0] ?? '', new RegExp(`^customer 2, model ${run.manifest.runId}/2\\.tar\\.gz \\(run ${run.manifest.runId}\\), 5 days$`));
  t.regex(lines[1] ?? '', /^date\s+yhat\s+yhat_lower\s+yhat_upper$/);
  const rows = lines.slice(3);
  t.is(rows.length, 5);
  for (const row of rows) t.regex(row, /^\d{4}-\d{2}-\d{2}(\s+-?\d+\.\d{2}){3}$/);
});

test.serial('cli: --json prints the typed result', async (t) => {
  const { code, stdout, stderr } = await cli(['--customer', '3', '--period', '4', '--json']);
  t.is(code, 0, stderr);
  const result = JSON.parse(stdout);
  t.is(result.customerId, '3');
  t.is(result.targetModel, `${run.manifest.runId}/3.tar.gz`);
  t.is(result.forecast.length, 4);
  t.deepEqual(Object.keys(result.forecast[0]).sort(), ['date', 'yhat', 'yhat_lower', 'yhat_upper']);
});

test.serial('cli: --plot writes a well-formed SVG with history, forecast and interval', async (t) => {
  const file = path.join(dataDir, 'plot-1.svg');
  const { code, stderr } = await cli(['--customer', '1', '--period', '30', '--plot', file, '--history-days', '60']);
  t.is(code, 0, stderr);
  const svg = await readFile(file, 'utf8');
  t.is(XMLValidator.validate(svg), true);
  const root = new XMLParser({ ignoreAttributes: false }).parse(svg).svg;
  t.truthy(root, 'root element is <svg>');
  t.true(Number(root['@_width']) > 0);
  t.regex(svg, /Customer 1: consumption forecast/);
  t.regex(svg, /class="mark-area role-mark/, 'the interval band');
  t.is(svg.match(/class="mark-line role-mark/g)?.length, 2, 'one line per series');
  t.regex(svg, /aria-label="[^"]*series: history/, 'the history line');
  t.regex(svg, /aria-label="[^"]*series: forecast/, 'the forecast line');
});

test.serial('cli: usage errors and unknown customers exit non-zero with a message', async (t) => {
  const missing = await cli(['--period', '7']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /give exactly one of \[--customer\] ID, \[--all\] or \[--customers\]/);
  const badPeriod = await cli(['--customer', '1', '--period', 'seven']);
  t.is(badPeriod.code, 2);
  t.regex(badPeriod.stderr, /\[--period\] must be an integer ≥ 1, got "seven"/);
  const unknown = await cli(['--customer', '77']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /customer 77 has no model/);
});

test.serial('the manifest is read again after its TTL, on a miss and on a ValidationError once a new run is published', async (t) => {
  const cachedLong = createForecastClient({ bucket, endpointName, manifestTtlMs: 3_600_000 });
  const shortTtl = createForecastClient({ bucket, endpointName, manifestTtlMs: 200 });
  const firstRun = run.manifest.runId;
  t.is((await cachedLong.forecast(0, 7)).runId, firstRun);
  t.is((await shortTtl.forecast(0, 7)).runId, firstRun);
  await t.throwsAsync(cachedLong.forecast(4, 7), { message: /customer 4 has no model/ });
  // An endpoint with nothing cached, and a client that read the manifest before the next run.
  await provisionLocalStack({ endpointUrl: run.endpointUrl, bucket, endpointName: 'forecast-fresh' });
  const beforeNextRun = createForecastClient({ bucket, endpointName: 'forecast-fresh', manifestTtlMs: 3_600_000 });
  await beforeNextRun.manifest();

  // The next night's raw drop has a fifth customer.
  const s3 = new S3Client({});
  t.teardown(() => s3.destroy());
  const raw = Buffer.from([...datasetChunks({ customers: 5 })].join(''));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: LOCAL_DEFAULTS.rawKey, Body: raw }));
  const second = await runLocalPipeline({ bucket, endpointName, instances: 2, dataDir, scheduledTime: secondRunTime, log: (line) => lines.push(line) });
  t.not(second.result.runId, firstRun);

  t.is((await cachedLong.forecast(0, 7)).runId, firstRun, 'within its TTL the cached manifest still serves the older, versioned model');
  const newCustomer = await cachedLong.forecast(4, 7);
  t.is(newCustomer.runId, second.result.runId, 'a miss reads the manifest again');
  t.is((await cachedLong.forecast(0, 7)).runId, second.result.runId);
  // A model gone from S3 answers ValidationError; the client reads the manifest again and uses its successor.
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `models/${firstRun}/2.tar.gz` }));
  const replaced = await beforeNextRun.forecast(2, 7);
  t.is(replaced.targetModel, `${second.result.runId}/2.tar.gz`);
  await new Promise((resolve) => setTimeout(resolve, 250));
  const refreshed = await shortTtl.forecast(0, 7);
  t.is(refreshed.runId, second.result.runId);
  t.is(refreshed.targetModel, `${second.result.runId}/0.tar.gz`);
});

test.serial('retries ModelNotReadyException while a cold model loads', async (t) => {
  // Restarted local mode answers ModelNotReadyException as soon as a model is not loaded yet (AWS
  // waits 60 s first); the SDK's own retries are off so the client's retry is what recovers.
  await run.close();
  const aws = await startLocalAws({ dataDir, port: 0, modelLoadWaitMs: 0, stopGraceMs: 2000 });
  restarted = aws;
  Object.assign(process.env, localSdkEnvironment(aws.endpointUrl));
  await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket, endpointName });
  const runtime = new SageMakerRuntimeClient({ maxAttempts: 1 });
  t.teardown(() => runtime.destroy());
  const retries: number[] = [];
  const client = createForecastClient({ bucket, endpointName, runtime, onModelNotReady: ({ attempt }) => retries.push(attempt) });
  const forecast = await client.forecast(1, 3);
  t.is(forecast.forecast.length, 3);
  t.true(retries.length >= 1, 'the first attempt met a model still loading');
  t.deepEqual(retries, retries.map((_, i) => i + 1));
});
