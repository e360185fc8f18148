import test from 'ava';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { datasetChunks } from '../../../runtime/dataset/generator.js';
import { modelNameFor } from '../../../runtime/local/runtime-api/model-cache.js';
import { CURRENT_MANIFEST_KEY, parseManifest } from '../../../runtime/pipeline/manifest.js';
import type { RunReport } from '../../../runtime/pipeline/report.js';
import { PipelineRunError, runPipeline } from '../../../runtime/pipeline/run-pipeline.js';
import { FAST_HYPERPARAMETERS, startLocalPipeline, TEST_BUCKET, type LocalPipeline } from './local-pipeline.js';

/**
 * The quality gate and the run-level stop rules through local mode: real SDK, real processing,
 * training and inference containers. Five customers with a year of daily data keep it small.
 */

const CUSTOMERS = 5;
const NIGHTS = ['2026-11-26T01:00:00Z', '2026-11-27T01:00:00Z', '2026-11-28T01:00:00Z'] as const;
const FAST_POLL = { minDelayMs: 100, maxDelayMs: 500 };
const DATA = { customers: CUSTOMERS, noise: 0.02, weekly: 0.1 };

/** Writes the raw drop, with each row passed through `edit` (a row it returns undefined for is left out). */
async function putRaw(local: LocalPipeline, days: number, edit: (row: string) => string | undefined = (row) => row): Promise<void> {
  const [header, ...rows] = [...datasetChunks({ ...DATA, days })].join('').trimEnd().split('\n');
  const body = `${[header, ...rows.map(edit).filter((row) => row !== undefined)].join('\n')}\n`;
  await local.deps.s3.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: 'raw/energy.csv', Body: body, ContentType: 'text/csv' }));
}

async function report(local: LocalPipeline, runId: string): Promise<RunReport> {
  return JSON.parse(await local.getText(`runs/${runId}/report.json`)) as RunReport;
}

test.serial('a normal night publishes after warming; a spiked customer keeps its champion; a degraded night publishes nothing', async (t) => {
  const local = await startLocalPipeline(t);
  await putRaw(local, 365);
  const first = await runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[0] }), deps: local.deps, backoff: FAST_POLL });
  t.like((await report(local, first.runId)).decisions, { accepted: CUSTOMERS, rejected: 0, failed: 0 });

  // Night 2: one more day; customer 4's last three days jump to 100 times their level.
  const spiked = '4';
  await putRaw(local, 366, (row) => {
    const [customer, day, value] = row.split(',');
    return customer === spiked && (day as string) >= '2022-12-30' ? `${customer},${day},${Number(value) * 100}` : row;
  });
  const second = await runPipeline({
    config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[1] }),
    deps: local.deps,
    backoff: FAST_POLL,
    // One model invoked by validation: every other loaded model was loaded by the warm switch.
    validationSampleSize: 1,
  });
  const secondReport = await report(local, second.runId);
  t.is(secondReport.status, 'succeeded', JSON.stringify(secondReport.outcomes));
  t.like(secondReport.decisions, { accepted: CUSTOMERS - 1, rejected: 1, failed: 0, kept: 1 });
  const [rejection] = secondReport.outcomes ?? [];
  t.like(rejection, { customerId: spiked, decision: 'rejected', servedRunId: first.runId });
  t.regex(rejection?.code ?? '', /^E_GATE_/);
  t.regex(rejection?.reason ?? '', /holdout MAE|forecast/);
  const current = parseManifest(await local.getText(CURRENT_MANIFEST_KEY));
  t.is(current.runId, second.runId);
  t.deepEqual(current.models[spiked], first.manifest.models[spiked]);
  const accepted = Object.keys(current.models).filter((id) => id !== spiked);
  for (const id of accepted) t.is(current.models[id]?.runId, second.runId);

  // The warm switch loaded every accepted model before publishing (the pipeline invokes nothing after
  // it), and not the rejected one.
  t.deepEqual(secondReport.steps.map((s) => s.step), ['processing', 'training', 'validation', 'gate', 'warming', 'publishing', 'cleanup']);
  t.like(secondReport.warm, { models: CUSTOMERS - 1, failures: 0 });
  const loaded = await local.loadedModels();
  for (const id of accepted) t.true(loaded.has(modelNameFor(`${second.runId}/${id}.tar.gz`)), `customer ${id}'s new model was not loaded`);
  t.false(loaded.has(modelNameFor(`${second.runId}/${spiked}.tar.gz`)));

  // Night 3: settings that cannot follow yearly data. Nothing is published and the report says why.
  await putRaw(local, 367);
  const before = await local.getText(CURRENT_MANIFEST_KEY);
  const degraded = JSON.stringify({ ...FAST_HYPERPARAMETERS, yearly_seasonality: 'false', n_changepoints: '0', max_failed_fraction: '1' });
  const error = await t.throwsAsync(
    runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[2], [PIPELINE_ENV.hyperparameters]: degraded }), deps: local.deps, backoff: FAST_POLL }),
    { instanceOf: PipelineRunError },
  );
  t.is(await local.getText(CURRENT_MANIFEST_KEY), before, 'the manifest is untouched');
  const thirdReport = await report(local, error?.runId ?? '');
  t.is(thirdReport.status, 'failed');
  t.true(['E_TOO_MANY_REJECTED', 'E_NO_VALID_MODELS'].includes(thirdReport.error?.code ?? ''), JSON.stringify(thirdReport.error));
  t.false(thirdReport.steps.some((s) => s.step === 'publishing' || s.step === 'warming'));
  const notAccepted = (thirdReport.outcomes ?? []).filter((o) => o.decision === 'rejected' || o.decision === 'failed');
  t.true(notAccepted.length > CUSTOMERS * 0.2, JSON.stringify(thirdReport.decisions));
  for (const outcome of notAccepted) {
    t.truthy(outcome.code);
    t.truthy(outcome.reason);
    t.is(outcome.servedRunId, current.models[outcome.customerId]?.runId);
  }
});

test.serial('a night whose processing quarantines more than the allowed share stops before training', async (t) => {
  const local = await startLocalPipeline(t);
  // Every row of customer 1 carries an unreadable consumption: a third of the rows.
  await putRaw(local, 60, (row) => (row.startsWith('1,') ? row.replace(/,[^,]*$/, ',n/a') : row));
  const error = await t.throwsAsync(
    runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[0] }), deps: local.deps, backoff: FAST_POLL }),
    { instanceOf: PipelineRunError },
  );
  t.regex(error?.message ?? '', /quarantined 60 of 300 raw rows \(20 %\), more than the allowed 5 %/);
  const failed = await report(local, error?.runId ?? '');
  t.is(failed.error?.code, 'E_TOO_MANY_QUARANTINED');
  t.deepEqual(failed.quarantine, { rows: 60, totalRows: 300, share: 0.2 });
  t.deepEqual(failed.steps.map((s) => s.step), ['processing']);
  await t.throwsAsync(local.getText(CURRENT_MANIFEST_KEY), { name: 'NoSuchKey' });
});
