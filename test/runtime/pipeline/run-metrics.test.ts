import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { DECISION_METRICS, METRIC_DIMENSIONS, METRIC_NAMES } from '../../../runtime/config/metric-names.js';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { writeEmfRecords } from '../../../runtime/pipeline/emf-output.js';
import type { RunReport } from '../../../runtime/pipeline/report.js';
import { runPipeline } from '../../../runtime/pipeline/run-pipeline.js';
import { rejectedOrFailedShare, runMetricRecords } from '../../../runtime/pipeline/run-metrics.js';
import { parseEmfLine, type ParsedEmf } from './emf-assert.js';
import { startLocalPipeline } from './local-pipeline.js';
import { degradedNight, failedNight, goodNight } from './report-fixtures.js';

/** The run record and one record per step, as CloudWatch would read them from the lines. */
async function emfOf(t: Parameters<typeof parseEmfLine>[0], report: RunReport, stack = 'dev') {
  const lines: string[] = [];
  const written = await writeEmfRecords(report.runId, new Date(report.finishedAt), runMetricRecords(report, stack), { namespace: 'Test/Forecast', directory: undefined }, (line) =>
    lines.push(line),
  );
  t.is(written.destination, 'stdout');
  t.is(written.records, lines.length);
  return lines.map((line) => parseEmfLine(t, line));
}

function runRecord(records: readonly ParsedEmf[]): ParsedEmf {
  const run = records.filter((r) => r.dimensions[METRIC_DIMENSIONS.step] === undefined);
  if (run.length !== 1) throw new Error(`expected one run record, found ${run.length}`);
  return run[0] as ParsedEmf;
}

test('a degraded night: every metric is the report\'s own value, in the namespace, with the stack dimension', async (t) => {
  const report = degradedNight();
  const records = await emfOf(t, report);
  for (const record of records) {
    t.is(record.namespace, 'Test/Forecast');
    t.is(record.dimensions[METRIC_DIMENSIONS.stack], 'dev');
    t.is(record.timestamp, Date.parse(report.finishedAt));
    t.is(record.properties.runId, report.runId);
  }
  const run = runRecord(records);
  t.deepEqual(run.dimensions, { Stack: 'dev' });
  t.like(run.values, {
    [METRIC_NAMES.runSucceeded]: 1,
    [METRIC_NAMES.runSeconds]: 75,
    [METRIC_NAMES.customersProcessed]: 5,
    [METRIC_NAMES.modelsTrained]: 4,
    [DECISION_METRICS.accepted]: 2,
    [DECISION_METRICS.rejected]: 1,
    [DECISION_METRICS.failed]: 1,
    [DECISION_METRICS.unchanged]: 0,
    [DECISION_METRICS.dropped]: 1,
    [DECISION_METRICS.kept]: 1,
    [METRIC_NAMES.rejectedOrFailedShare]: 0.5,
    [METRIC_NAMES.customersStale]: 1,
    [METRIC_NAMES.quarantinedRows]: 12,
    [METRIC_NAMES.quarantinedShare]: 12 / 1800,
    [METRIC_NAMES.oldestModelAgeDays]: 8,
    [METRIC_NAMES.holdoutErrorP50]: 0.048,
    [METRIC_NAMES.holdoutErrorP90]: 0.12,
    [METRIC_NAMES.beatsSeasonalNaiveShare]: 0.5,
  });
  t.is(run.units[METRIC_NAMES.runSeconds], 'Seconds');
  t.is(run.units[DECISION_METRICS.rejected], 'Count');
  // Every name the run record carries is one of the shared names, and all of them are there.
  t.deepEqual(Object.keys(run.values).sort(), Object.values(METRIC_NAMES).filter((n) => n !== METRIC_NAMES.stepSeconds).sort());

  const steps = records.filter((r) => r.dimensions[METRIC_DIMENSIONS.step] !== undefined);
  t.deepEqual(
    steps.map((r) => [r.dimensions[METRIC_DIMENSIONS.step], r.values[METRIC_NAMES.stepSeconds]]),
    report.steps.map((s) => [s.step, s.seconds]),
  );
});

test('a failed night reports 0 and only what it knows: no counts are invented as zeros', async (t) => {
  const report = failedNight();
  const records = await emfOf(t, report);
  const run = runRecord(records);
  t.deepEqual(run.values, { [METRIC_NAMES.runSucceeded]: 0, [METRIC_NAMES.runSeconds]: 33 });
  t.deepEqual(
    records.filter((r) => r !== run).map((r) => r.dimensions[METRIC_DIMENSIONS.step]),
    ['processing', 'training'],
  );
});

test('rejected-or-failed share leaves dropped customers out and is undefined with no customers', (t) => {
  t.is(rejectedOrFailedShare({ accepted: 6, rejected: 1, failed: 1, unchanged: 2, dropped: 5, kept: 1 }), 0.2);
  t.is(rejectedOrFailedShare({ accepted: 0, rejected: 0, failed: 0, unchanged: 0, dropped: 3, kept: 0 }), null);
  const run = runMetricRecords({ ...goodNight(), decisions: { accepted: 0, rejected: 0, failed: 0, unchanged: 0, dropped: 3, kept: 0 } }, 'dev')[0];
  t.false(run?.metrics.some((m) => m.name === METRIC_NAMES.rejectedOrFailedShare));
});

test('with a folder the records go to <folder>/<runId>.jsonl, appended on a resumed run', async (t) => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'forecast-emf-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const report = goodNight();
  const settings = { namespace: 'Test/Forecast', directory: path.join(folder, 'metrics') };
  const stdout: string[] = [];
  const first = await writeEmfRecords(report.runId, new Date(report.finishedAt), runMetricRecords(report, 'dev'), settings, (line) => stdout.push(line));
  t.is(first.destination, path.join(folder, 'metrics', `${report.runId}.jsonl`));
  t.deepEqual(stdout, [], 'nothing on the console');
  await writeEmfRecords(report.runId, new Date(report.finishedAt), runMetricRecords(report, 'dev'), settings);
  const lines = (await readFile(first.destination, 'utf8')).trimEnd().split('\n');
  t.is(lines.length, 2 * first.records);
  for (const line of lines) parseEmfLine(t, line);
});

test.serial('a local run writes EMF records under its metrics folder whose values match its report, and keeps the report under reports/', async (t) => {
  const local = await startLocalPipeline(t);
  await local.putRawData({ customers: 3, days: 90, noise: 0.02 });
  const metricsDir = path.join(local.dataDir, 'metrics');
  const result = await runPipeline({
    config: local.config({ [PIPELINE_ENV.scheduledTime]: new Date().toISOString(), [PIPELINE_ENV.metricsDir]: metricsDir, [PIPELINE_ENV.metricsStack]: 'test' }),
    deps: local.deps,
    backoff: { minDelayMs: 100, maxDelayMs: 500 },
  });
  const report = JSON.parse(await local.getText(`runs/${result.runId}/report.json`)) as RunReport;
  t.deepEqual(JSON.parse(await local.getText(`reports/${result.runId}.json`)), report, 'the lasting copy outside runs/ is the same report');
  const lines = (await readFile(path.join(metricsDir, `${result.runId}.jsonl`), 'utf8')).trimEnd().split('\n');
  const records = lines.map((line) => parseEmfLine(t, line));
  for (const record of records) {
    t.is(record.namespace, 'ForecastFleet');
    t.is(record.dimensions[METRIC_DIMENSIONS.stack], 'test');
  }
  const run = runRecord(records);
  t.is(run.values[METRIC_NAMES.runSucceeded], 1);
  t.is(run.values[METRIC_NAMES.runSeconds], report.seconds);
  t.is(run.values[METRIC_NAMES.customersProcessed], report.counts?.customers);
  t.is(run.values[METRIC_NAMES.customersProcessed], 3);
  t.is(run.values[METRIC_NAMES.modelsTrained], report.counts?.modelsFound);
  t.is(run.values[METRIC_NAMES.holdoutErrorP50], report.metrics?.byName.wape?.median);
  t.is(run.values[METRIC_NAMES.holdoutErrorP90], report.metrics?.byName.wape?.p90);
  t.deepEqual(
    records.filter((r) => r !== run).map((r) => [r.dimensions[METRIC_DIMENSIONS.step], r.values[METRIC_NAMES.stepSeconds]]),
    report.steps.map((s) => [s.step, s.seconds]),
  );
});
