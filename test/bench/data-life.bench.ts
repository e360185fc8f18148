/**
 * The data's life in local mode (edge server in this process, real SDK, real containers), on the
 * demo data set `npm start` seeds, with local mode's pipeline settings and job polling:
 *
 *   npx tsx test/bench/data-life.bench.ts [--quick] [--reps 3] [--customers 1000] [--changed 10]
 *     [--nights 10] [--retention-days 3]
 *
 * 1. Incremental retraining. A first night trains every customer (setup, not timed) and its data
 *    folder is kept. Each repetition copies it, adds a raw drop with one new day for `--changed`
 *    customers and runs the second night: wall time and models trained. Baseline, interleaved on
 *    its own copy of the same state and drop: the same night with `FORECAST_FULL_RETRAIN=true`.
 * 2. Cleanup. `--nights` nights after the first (one a simulated day apart): the last repetition's
 *    incremental second night, kept, then nights each with a drop of one new day for 1% of the
 *    customers and a few corrected values of earlier days, under the default retention (so nothing
 *    goes yet). Each repetition copies that state's bucket (the cleanup touches S3 alone, so no
 *    endpoint is started) and runs the cleanup step as the pipeline and `npm run cleanup` do, as of the last night with a
 *    `--retention-days` retention: objects and bytes removed, objects kept and why, and its wall
 *    time beside the same cleanup's `--dry-run` (list, read manifests, decide) on the same state.
 *
 * `--quick`: 20 customers, 1 changed, 2 nights, a 1-day retention.
 */
import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DateTime } from 'luxon';
import { readPipelineConfig } from '../../runtime/config/pipeline-config.js';
import { PIPELINE_ENV } from '../../runtime/config/pipeline-env.js';
import { DATASET_HEADER, DATASET_PRESETS, DEFAULT_DATASET_OPTIONS, datasetChunks } from '../../runtime/dataset/generator.js';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { startLocalAws } from '../../runtime/local/edge-server.js';
import { LOCAL_DEFAULTS, LOCAL_JOB_POLLING, localPipelineEnvironment } from '../../runtime/local/main.js';
import { cleanUpBucket, retentionCutoffRunId } from '../../runtime/pipeline/cleanup.js';
import type { RunReport } from '../../runtime/pipeline/report.js';
import { runPipeline, type PipelineDeps } from '../../runtime/pipeline/run-pipeline.js';
import { listObjects } from '../../runtime/pipeline/s3-objects.js';
import { benchOptions, finishBench, loadAverage, repeat } from './harness.js';
import type { Figure } from './harness.js';

const { flags, values } = benchOptions({
  customers: { type: 'string' },
  changed: { type: 'string' },
  nights: { type: 'string' },
  'retention-days': { type: 'string' },
});
const CUSTOMERS = Number(values.customers ?? (flags.quick ? 20 : 1000));
const CHANGED = Number(values.changed ?? Math.max(1, Math.round(CUSTOMERS / 100)));
const NIGHTS = Number(values.nights ?? (flags.quick ? 2 : 10));
const RETENTION_DAYS = Number(values['retention-days'] ?? (flags.quick ? 1 : 3));
/** Corrected values (earlier days, other customers) in each of the cleanup scenario's drops. */
const CORRECTIONS_PER_NIGHT = 3;
/**
 * In the cleanup scenario most customers get no new row for all the nights, so their carried-over
 * models age past the default 7-day stale rule, which then stops the run (as it should on AWS).
 * The scenario is about what cleanup removes, so it allows models a month old.
 */
const SCENARIO_MAX_MODEL_AGE_DAYS = 30;
for (const [name, value] of Object.entries({ customers: CUSTOMERS, changed: CHANGED, nights: NIGHTS, 'retention-days': RETENTION_DAYS })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
}
if (CHANGED > CUSTOMERS) throw new Error(`--changed (${CHANGED}) must not exceed --customers (${CUSTOMERS})`);

const { bucket, endpointName, instances } = LOCAL_DEFAULTS;
const FIRST_NIGHT = DateTime.fromISO('2026-11-01T01:00:00Z', { zone: 'utc' });
const nightTime = (n: number) => FIRST_NIGHT.plus({ days: n });
const DAYS = DEFAULT_DATASET_OPTIONS.days;
const dataset = { ...DATASET_PRESETS.demo, customers: CUSTOMERS, days: DAYS + NIGHTS + 1 };
const dayOf = (index: number) => DateTime.fromISO(DEFAULT_DATASET_OPTIONS.start, { zone: 'utc' }).plus({ days: index }).toISODate()!;

// Every row of the whole period, grouped by day: the first drop holds the first DAYS days.
const rowsByDay = new Map<string, string[]>();
for (const row of [...datasetChunks(dataset)].join('').trimEnd().split('\n').slice(1)) {
  const day = row.split(',')[1]!;
  const rows = rowsByDay.get(day);
  if (rows) rows.push(row);
  else rowsByDay.set(day, [row]);
}
const rowsOf = (dayIndex: number, customers: ReadonlySet<string>) => (rowsByDay.get(dayOf(dayIndex)) ?? []).filter((row) => customers.has(row.split(',')[0]!));
/** `count` customer ids from `from` on, spread over the whole range. */
const slice = (from: number, count: number) => new Set(Array.from({ length: count }, (_, i) => String((from + i * Math.floor(CUSTOMERS / count)) % CUSTOMERS)));

interface Local {
  readonly dataDir: string;
  readonly deps: PipelineDeps;
  close(): Promise<void>;
}

/**
 * Local mode on `dataDir` (fresh or a copy of an earlier state): edge server on a free port, SDK
 * clients at it, and with `endpoint` the stack provisioned (bucket, multi-model endpoint InService).
 * Without it only what the folder holds is served: the cleanup needs S3 alone.
 */
async function openLocal(dataDir: string, { endpoint = true } = {}): Promise<Local> {
  const aws = await startLocalAws({ dataDir, port: 0 });
  try {
    if (endpoint) await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket, endpointName });
  } catch (error) {
    await aws.close();
    throw error;
  }
  const config = { endpoint: aws.endpointUrl, region: LOCAL_DEFAULTS.region, credentials: { accessKeyId: LOCAL_DEFAULTS.accessKeyId, secretAccessKey: LOCAL_DEFAULTS.secretAccessKey } };
  const deps: PipelineDeps = { s3: new S3Client({ ...config, forcePathStyle: true }), sagemaker: new SageMakerClient(config), runtime: new SageMakerRuntimeClient(config) };
  return {
    dataDir,
    deps,
    async close() {
      deps.s3.destroy();
      deps.sagemaker.destroy();
      deps.runtime.destroy();
      await aws.close();
    },
  };
}

const scratch = await mkdtemp(path.join(os.tmpdir(), 'data-life-bench-'));
let copies = 0;
/**
 * Local mode on a fresh copy of a stored state, closed after `work`; the copy is removed, or kept as
 * `keepAs`. `s3Only` copies the bucket's folder alone and starts no endpoint (the cleanup's case).
 */
async function onCopyOf<T>(state: string, work: (local: Local) => Promise<T>, { keepAs, s3Only = false }: { keepAs?: string; s3Only?: boolean } = {}): Promise<T> {
  const dataDir = path.join(scratch, `copy-${++copies}`);
  if (s3Only) await cp(path.join(state, 's3'), path.join(dataDir, 's3'), { recursive: true });
  else await cp(state, dataDir, { recursive: true });
  const local = await openLocal(dataDir, { endpoint: !s3Only });
  let done = false;
  try {
    const result = await work(local);
    done = true;
    return result;
  } finally {
    await local.close();
    if (done && keepAs) await rename(dataDir, keepAs);
    else await rm(dataDir, { recursive: true, force: true });
  }
}

async function putDrop(local: Local, key: string, rows: readonly string[]): Promise<void> {
  const body = `${DATASET_HEADER}\n${rows.join('\n')}\n`;
  await local.deps.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv' }));
}

/** One night as local mode runs it, at the simulated time `night`: wall seconds and the run's report. */
async function runNight(local: Local, night: DateTime, overrides: Record<string, string> = {}): Promise<{ seconds: number; report: RunReport }> {
  const config = readPipelineConfig({
    ...localPipelineEnvironment({ bucket, endpointName, instances, dataDir: local.dataDir, scheduledTime: night.toISO()! }),
    ...overrides,
  });
  const started = performance.now();
  const { report } = await runPipeline({ config, deps: local.deps, backoff: LOCAL_JOB_POLLING });
  return { seconds: (performance.now() - started) / 1000, report };
}

const stepSeconds = (report: RunReport, step: string) => report.steps.find((s) => s.step === step)?.seconds ?? 0;
const stepsOf = (report: RunReport) => report.steps.map((s) => `${s.step} ${s.seconds.toFixed(1)}`).join(', ');
const log = (line: string) => console.error(`data-life: ${line} (load ${loadAverage()})`);
const figures: Figure[] = [];
const notes: string[] = [];

try {
  // Setup: the first night on a fresh folder, kept as the starting state of every repetition.
  const firstState = path.join(scratch, 'first-night');
  const first = await openLocal(firstState);
  try {
    await putDrop(first, `raw/${dayOf(0)}.csv`, Array.from({ length: DAYS }, (_, day) => rowsByDay.get(dayOf(day)) ?? []).flat());
    const night = await runNight(first, nightTime(0));
    log(`first night (setup, not timed): ${night.report.retraining?.trained ?? 0} models trained in ${night.seconds.toFixed(1)} s (${stepsOf(night.report)})`);
  } finally {
    await first.close();
  }

  // 1. The second night with CHANGED customers changed, against a full retrain of the same data.
  const changed = slice(0, CHANGED);
  // The last incremental night is also the cleanup scenario's night 1: its state is kept.
  const nightsState = path.join(scratch, 'nights');
  const secondNight = (full: boolean, keepAs?: string) =>
    onCopyOf(firstState, async (local) => {
      await putDrop(local, `raw/${dayOf(DAYS)}.csv`, rowsOf(DAYS, changed));
      const night = await runNight(local, nightTime(1), full ? { [PIPELINE_ENV.fullRetrain]: 'true' } : {});
      const trained = night.report.retraining?.trained ?? 0;
      log(`second night, ${full ? 'full retrain' : 'incremental'}: ${trained} models trained in ${night.seconds.toFixed(1)} s (${stepsOf(night.report)})`);
      return { ...night, trained };
    }, { keepAs });
  const pairs = await repeat(flags.reps, async (rep) => ({ incremental: await secondNight(false, rep === flags.reps - 1 ? nightsState : undefined), full: await secondNight(true) }));
  const incremental = pairs.map((p) => p.incremental);
  const full = pairs.map((p) => p.full);
  const share = `${CHANGED} of ${CUSTOMERS} customers changed`;
  const fullName = `full retrain (FORECAST_FULL_RETRAIN=true), same data: wall`;
  figures.push(
    { name: fullName, unit: 's', samples: full.map((n) => n.seconds), better: 'lower' },
    { name: `second night, ${share}: wall`, unit: 's', samples: incremental.map((n) => n.seconds), better: 'lower', baseline: fullName },
    { name: 'full retrain: models trained', unit: 'models', samples: full.map((n) => n.trained), better: 'lower' },
    { name: `second night, ${share}: models trained`, unit: 'models', samples: incremental.map((n) => n.trained), better: 'lower', baseline: 'full retrain: models trained' },
    { name: 'full retrain: training step', unit: 's', samples: full.map((n) => stepSeconds(n.report, 'training')), better: 'lower' },
    {
      name: `second night, ${share}: training step`,
      unit: 's',
      samples: incremental.map((n) => stepSeconds(n.report, 'training')),
      better: 'lower',
      baseline: 'full retrain: training step',
    },
  );
  const reasons = incremental[0]?.report.retraining?.reasons;
  notes.push(
    `${CUSTOMERS} customers × ${DAYS} days (demo data set), ${instances} training instances, local mode's pipeline settings and publishing gate; ` +
      `second night: one new day for ${CHANGED} customers in a new raw drop; reasons of the incremental night's training: ${JSON.stringify(reasons)}`,
  );

  // 2. Cleanup after NIGHTS nights: the nights run once, the cleanup is repeated on copies of their state.
  const nights = await openLocal(nightsState);
  let corrections = 0;
  try {
    for (let n = 2; n <= NIGHTS; n++) {
      const fresh = rowsOf(DAYS + n - 1, slice(n * CHANGED, CHANGED));
      // A few values of a month ago, corrected: the latest drop wins and their customers retrain.
      const corrected = [...slice(n * CHANGED + 1, CORRECTIONS_PER_NIGHT)].map((id) => {
        const [, day, value] = rowsOf(DAYS - 30, new Set([id]))[0]!.split(',');
        return `${id},${day},${(Number(value) * 1.1).toFixed(2)}`;
      });
      await putDrop(nights, `raw/${dayOf(DAYS + n - 1)}.csv`, [...fresh, ...corrected]);
      const night = await runNight(nights, nightTime(n), { [PIPELINE_ENV.maxModelAgeDays]: String(SCENARIO_MAX_MODEL_AGE_DAYS) });
      // Processing reads every drop, so the count covers the corrections of all nights so far.
      corrections = night.report.corrections ?? 0;
      log(`night ${n}/${NIGHTS}: ${night.report.retraining?.trained ?? 0} models trained, ${corrections} corrections, ${night.seconds.toFixed(1)} s (${stepsOf(night.report)})`);
    }
  } finally {
    await nights.close();
  }
  const cutoffRunId = retentionCutoffRunId(nightTime(NIGHTS), RETENTION_DAYS, 'UTC');
  const cleanups = await repeat(flags.reps, () =>
    onCopyOf(nightsState, async (local) => {
      const bucketSize = async () => {
        const objects = await listObjects(local.deps.s3, bucket, '');
        return { objects: objects.length, bytes: objects.reduce((sum, o) => sum + o.size, 0) };
      };
      const before = await bucketSize();
      const cleanup = (dryRun: boolean) => cleanUpBucket({ s3: local.deps.s3, bucket, retentionDays: RETENTION_DAYS, cutoffRunId, dryRun });
      let started = performance.now();
      await cleanup(true);
      const drySeconds = (performance.now() - started) / 1000;
      started = performance.now();
      const result = await cleanup(false);
      const seconds = (performance.now() - started) / 1000;
      const after = await bucketSize();
      log(`cleanup: ${result.summary.removed.objects} objects removed in ${seconds.toFixed(2)} s (dry run ${drySeconds.toFixed(2)} s)`);
      return { before, after, drySeconds, seconds, result };
    }, { s3Only: true }),
  );
  const cleanupName = `cleanup after ${NIGHTS} nights, ${RETENTION_DAYS}-day retention`;
  figures.push(
    { name: 'bucket before cleanup: objects', unit: 'objects', samples: cleanups.map((c) => c.before.objects), better: 'lower' },
    { name: `${cleanupName}: objects removed`, unit: 'objects', samples: cleanups.map((c) => c.result.summary.removed.objects), better: 'higher', baseline: 'bucket before cleanup: objects' },
    { name: 'bucket before cleanup: MB', unit: 'MB', samples: cleanups.map((c) => c.before.bytes / 1e6), better: 'lower' },
    { name: `${cleanupName}: MB removed`, unit: 'MB', samples: cleanups.map((c) => c.result.summary.removed.bytes / 1e6), better: 'higher', baseline: 'bucket before cleanup: MB' },
    { name: `${cleanupName}: objects past retention kept`, unit: 'objects', samples: cleanups.map((c) => c.result.summary.kept.objects), better: 'lower' },
    { name: 'cleanup --dry-run (list, read manifests, decide): wall', unit: 's', samples: cleanups.map((c) => c.drySeconds), better: 'lower' },
    { name: `${cleanupName}: wall`, unit: 's', samples: cleanups.map((c) => c.seconds), better: 'lower', baseline: 'cleanup --dry-run (list, read manifests, decide): wall' },
  );
  const last = cleanups[0]!;
  const why = new Map<string, number>();
  for (const item of last.result.decision.keep) {
    const reason = `${item.kind} ${item.reason.slice(item.reason.indexOf(', but ') + ', but '.length)}`;
    why.set(reason, (why.get(reason) ?? 0) + 1);
  }
  notes.push(
    `cleanup: ${NIGHTS} nights after the first (simulated days ${nightTime(1).toISODate()} … ${nightTime(NIGHTS).toISODate()}): the incremental second night, then nights each a drop of one new day for ${CHANGED} customers ` +
      `and ${CORRECTIONS_PER_NIGHT} corrected values (the last night's processing applied ${corrections}), run under the default retention and a ${SCENARIO_MAX_MODEL_AGE_DAYS}-day stale rule (the default 7 days stops night 8: 99% of the customers got no new row); cleanup as of the last night, runs before ${cutoffRunId}; ` +
      `removed by kind ${JSON.stringify(last.result.summary.removed.byKind)} from runs ${last.result.summary.removed.runs.join(', ')}; ` +
      `bucket after: ${last.after.objects} objects, ${(last.after.bytes / 1e6).toFixed(1)} MB; ` +
      `kept past the retention: ${[...why].map(([reason, count]) => `${count} × ${reason}`).join('; ') || 'nothing'}`,
  );
} finally {
  await rm(scratch, { recursive: true, force: true });
}
finishBench(flags, { bench: 'data-life', figures, notes });
