import test from 'ava';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { createForecastClient } from '../../../runtime/client/forecast-client.js';
import { parseForecastResponse } from '../../../runtime/client/forecast-wire.js';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { main as pipelineContainerMain } from '../../../containers/pipeline/main.js';
import { CURRENT_MANIFEST_KEY, historyManifestKey, parseManifest } from '../../../runtime/pipeline/manifest.js';
import type { RunReport } from '../../../runtime/pipeline/report.js';
import { formatPipelineEvent, runPipeline, type PipelineEvent } from '../../../runtime/pipeline/run-pipeline.js';
import { validateRun } from '../../../runtime/pipeline/validation.js';
import { FAST_HYPERPARAMETERS, startLocalPipeline } from './local-pipeline.js';

const CUSTOMERS = 6;
const FIRST_NIGHT = '2026-11-26T01:00:00Z';
const SECOND_NIGHT = '2026-11-27T01:00:00Z';
const FAST_POLL = { minDelayMs: 100, maxDelayMs: 500 };

test.serial('end to end on 2 instances, then a second night publishes new model names the endpoint serves', async (t) => {
  const local = await startLocalPipeline(t);
  await local.putRawData({ customers: CUSTOMERS, days: 365, noise: 0.02, weekly: 0.1 });

  // Night 1, through the library with injected clients.
  const events: PipelineEvent[] = [];
  const first = await runPipeline({
    config: local.config({ [PIPELINE_ENV.scheduledTime]: FIRST_NIGHT }),
    deps: local.deps,
    backoff: FAST_POLL,
    onEvent: (event) => events.push(event),
  });
  t.is(first.runId, '20261126-0200');
  t.is(first.publishOutcome, 'published');
  const ids = Array.from({ length: CUSTOMERS }, (_, i) => String(i));
  t.deepEqual(Object.keys(first.manifest.models), ids);
  for (const id of ids) t.is(first.manifest.models[id]?.targetModel, `20261126-0200/${id}.tar.gz`);

  const current = parseManifest(await local.getText(CURRENT_MANIFEST_KEY));
  t.deepEqual(current, first.manifest);
  t.deepEqual(parseManifest(await local.getText(historyManifestKey(first.runId))), first.manifest);

  const report = JSON.parse(await local.getText(`runs/${first.runId}/report.json`)) as RunReport;
  t.is(report.status, 'succeeded');
  t.deepEqual(report.steps.map((s) => s.step), ['processing', 'training', 'validation', 'gate', 'warming', 'publishing', 'cleanup']);
  t.like(report.counts, { customers: CUSTOMERS, modelsFound: CUSTOMERS, modelsValid: CUSTOMERS, modelsInvalid: 0, sampleFailures: 0 });
  t.true((report.metrics?.byName.mae?.count ?? 0) === CUSTOMERS);

  // Progress: job statuses, models uploaded while training, every step timed.
  const lines = events.map(formatPipelineEvent);
  t.true(lines.some((l) => /^training: forecast-20261126-0200-train InProgress/.test(l)), lines.join('\n'));
  t.true(events.some((e) => e.type === 'job-status' && e.snapshot.progress !== undefined));
  t.true(lines.some((l) => /^publishing: done in/.test(l)));

  // Every customer answers through the endpoint with the client F2's CLI uses.
  const client = createForecastClient({ bucket: local.bucket, endpointName: local.endpointName, s3: local.deps.s3, runtime: local.deps.runtime, manifestTtlMs: 0 });
  for (const id of ids) {
    const forecast = await client.forecast(id, 7);
    t.is(forecast.customerId, id);
    t.is(forecast.runId, first.runId);
    t.is(forecast.forecast.length, 7);
  }

  // Rerunning the same night skips both jobs and publishes nothing new.
  const rerun = await runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: FIRST_NIGHT }), deps: local.deps, backoff: FAST_POLL });
  t.is(rerun.publishOutcome, 'already-published');
  t.deepEqual(rerun.report.steps.slice(0, 2).map((s) => s.outcome), ['skipped', 'skipped']);
  t.deepEqual(parseManifest(await local.getText(CURRENT_MANIFEST_KEY)), first.manifest);

  // Night 2: fresh data, except that customer 5 has too little history to train, and the pipeline
  // container's entrypoint with the SDK's standard environment.
  const short = '5';
  await local.putRawData({ customers: CUSTOMERS, days: 366, noise: 0.02, weekly: 0.1 }, (row) => !row.startsWith(`${short},`) || row > `${short},2022-12-22`);
  const saved = { ...process.env };
  t.teardown(() => {
    process.env = saved;
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: local.endpointUrl,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    [PIPELINE_ENV.bucket]: local.bucket,
    [PIPELINE_ENV.sagemakerRoleArn]: 'arn:aws:iam::000000000000:role/forecast-test',
    [PIPELINE_ENV.processingImage]: 'forecast-fleet/processing:local',
    [PIPELINE_ENV.trainingImage]: 'forecast-fleet/training:local',
    [PIPELINE_ENV.endpointName]: local.endpointName,
    [PIPELINE_ENV.trainingInstanceCount]: '2',
    [PIPELINE_ENV.trainingCustomersPerInstance]: '1',
    [PIPELINE_ENV.hyperparameters]: JSON.stringify({ ...FAST_HYPERPARAMETERS, max_failed_fraction: '0.5' }),
    [PIPELINE_ENV.scheduleTimezone]: 'Europe/Paris',
    [PIPELINE_ENV.scheduledTime]: SECOND_NIGHT,
  });
  const exitCode = await pipelineContainerMain([]);
  const secondReport = JSON.parse(await local.getText('runs/20261127-0200/report.json')) as RunReport;
  t.is(exitCode, 0, JSON.stringify(secondReport.outcomes));

  const second = parseManifest(await local.getText(CURRENT_MANIFEST_KEY));
  t.is(second.runId, '20261127-0200');
  t.like(secondReport.counts, { customers: CUSTOMERS, modelsValid: CUSTOMERS - 1, modelsInvalid: 1, manifestEntries: CUSTOMERS, keptPrevious: 1 });
  t.deepEqual(secondReport.failures?.map((f) => f.customerId), [short]);
  // The customer without a new model keeps the first night's, and is still served.
  t.deepEqual(second.models[short], first.manifest.models[short]);
  const kept = await client.forecast(short, 7);
  t.is(kept.runId, '20261126-0200');
  for (const id of ids.filter((i) => i !== short)) {
    t.is(second.models[id]?.targetModel, `20261127-0200/${id}.tar.gz`);
    const forecast = await client.forecast(id, 7);
    t.is(forecast.runId, '20261127-0200', `customer ${id} was served a stale model`);
    t.is(forecast.targetModel, `20261127-0200/${id}.tar.gz`);
  }
  // The first night's models stay addressable under their own names and answer as that run.
  const old = await local.deps.runtime.send(
    new InvokeEndpointCommand({ EndpointName: local.endpointName, TargetModel: '20261126-0200/0.tar.gz', ContentType: 'application/json', Body: '{"period":7}' }),
  );
  t.is(parseForecastResponse(old.Body ?? '').runId, '20261126-0200');

  // Validation reads every archive: a corrupt one is refused with the reason, like a missing one.
  await local.deps.s3.send(new PutObjectCommand({ Bucket: local.bucket, Key: 'models/20261127-0200/3.tar.gz', Body: 'not a tar.gz' }));
  const validation = { ...local.deps, bucket: local.bucket, runId: '20261127-0200', endpointName: local.endpointName, sampleSize: 2, horizonDays: 7 };
  const check = await validateRun(validation);
  t.deepEqual(Object.keys(check.valid), ['0', '1', '2', '4']);
  t.deepEqual(check.failures.map((f) => f.customerId), ['3', '5']);
  t.regex(check.failures[0]?.reason ?? '', /unreadable model: s3:\/\/forecast-test\/models\/20261127-0200\/3\.tar\.gz: not a gzip-compressed tar archive/);
  t.regex(check.failures[1]?.reason ?? '', /no model at s3:\/\/forecast-test\/models\/20261127-0200\/5\.tar\.gz/);
  t.true(check.sampled.every((s) => s.ok));
  // Checked on worker threads (as runs of hundreds of models are), the verdicts and the gate's evidence are the same.
  const threaded = await validateRun({ ...validation, checkThreads: 2 });
  t.deepEqual(threaded.valid, check.valid);
  // The replayed forecast may differ in the last bit between threads (cached Fourier terms are per thread).
  const rounded = (evidence: typeof check.evidence) =>
    Object.fromEntries(Object.entries(evidence).map(([id, e]) => [id, { ...e, forecast: e.forecast.map((v) => Number(v.toPrecision(12))) }]));
  t.deepEqual(rounded(threaded.evidence), rounded(check.evidence));
  t.deepEqual(threaded.failures, check.failures);
});
