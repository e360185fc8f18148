import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DateTime } from 'luxon';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { CUSTOMER_INDEX_FILE, parseCustomerIndex } from '../../containers/processing/customer-index.js';
import { SUMMARY_FILE, type ProcessingSummary } from '../../containers/processing/process-raw-data.js';
import { customerIdOfKey, lastingReportKey, processingReportPrefix, reportKey, runModelsPrefix, s3Uri, trainingChannelKey, trainingPlanKey } from './bucket-layout.js';
import { cleanUpBucket, retentionCutoffRunId } from './cleanup.js';
import { countDecisions, type CustomerOutcome } from './decisions.js';
import { gateRun } from './gate.js';
import { writeEmfRecords } from './emf-output.js';
import {
  processingJobAdapter,
  runJobStep,
  trainingJobAdapter,
  type JobOutcome,
  type JobStatusSnapshot,
  type JobStepResult,
} from './jobs.js';
import { CURRENT_MANIFEST_KEY, parseManifest, type Manifest, type ManifestEntry } from './manifest.js';
import { publishManifest, type PublishOutcome, type PublishResult } from './publish.js';
import { summarizeMetrics, type PipelineStep, type RunReport, type StepReport } from './report.js';
import type { RetentionSummary } from './retention.js';
import { buildProcessingJobRequest, buildTrainingChannelManifest, buildTrainingJobRequest, PROCESSING_MAX_RUNTIME_SECONDS } from './requests.js';
import { deriveRunId } from './run-id.js';
import { runMetricRecords } from './run-metrics.js';
import { listKeys, readTextIfExists, writeJson } from './s3-objects.js';
import { checkDecisions, checkQuarantine, staleModels, type QuarantineShare, type StaleReport } from './stop-rules.js';
import { parseStoredPlan, planTraining, storedPlan, trainingSettingsHash, unchangedOutcomes, type TrainingPlan } from './training-plan.js';
import { FAILURE_CODES, sampleOf, validateRun, type ValidationResult } from './validation.js';
import { warmModels, type WarmResult } from './warm.js';
import { systemClock, type BackoffOptions, type Clock } from './waiter.js';

/**
 * One nightly run: processing → (stop if too many rows were quarantined) → training (only the
 * customers whose data or settings changed, see training-plan.ts) → validation →
 * gate → (stop if too many customers were rejected or failed) → warming → publishing, then the
 * report (stale models fail the run after publishing: withholding the accepted models would only
 * make tomorrow's models older). The SDK
 * clients take their endpoints from the standard `AWS_ENDPOINT_URL*` variables, so the same code
 * runs against AWS and against local mode.
 */

export interface PipelineDeps {
  readonly s3: S3Client;
  readonly sagemaker: SageMakerClient;
  readonly runtime: SageMakerRuntimeClient;
}

export type PipelineEvent =
  | { readonly type: 'run-started'; readonly runId: string; readonly bucket: string; readonly endpointName: string }
  | { readonly type: 'step-started'; readonly step: PipelineStep }
  | { readonly type: 'job-outcome'; readonly step: PipelineStep; readonly jobName: string; readonly outcome: JobOutcome }
  | { readonly type: 'job-status'; readonly step: PipelineStep; readonly snapshot: JobStatusSnapshot }
  | { readonly type: 'validation-progress'; readonly checked: number; readonly total: number }
  | { readonly type: 'warming-progress'; readonly warmed: number; readonly total: number }
  | { readonly type: 'step-finished'; readonly step: PipelineStep; readonly seconds: number; readonly summary: string }
  | { readonly type: 'run-finished'; readonly runId: string; readonly status: 'succeeded' | 'failed'; readonly seconds: number; readonly reportUri: string }
  | { readonly type: 'metrics-written'; readonly records: number; readonly destination: string };

export interface RunPipelineOptions {
  readonly config: PipelineConfig;
  readonly deps?: Partial<PipelineDeps>;
  readonly onEvent?: (event: PipelineEvent) => void;
  /** Polling of job status; local mode polls faster than the default. */
  readonly backoff?: BackoffOptions;
  readonly clock?: Clock;
  /** New models invoked through the endpoint before publishing (default 5). */
  readonly validationSampleSize?: number;
  /** The current time, used for the run id when no scheduled time is configured. */
  readonly now?: () => DateTime;
}

export interface PipelineResult {
  readonly runId: string;
  readonly manifest: Manifest;
  readonly publishOutcome: PublishOutcome;
  readonly report: RunReport;
}

export class PipelineRunError extends Error {
  override readonly name = 'PipelineRunError';
  readonly code = 'E_PIPELINE_RUN';
  constructor(
    readonly runId: string,
    readonly report: RunReport,
    cause: unknown,
  ) {
    super(`Run ${runId} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export const DEFAULT_VALIDATION_SAMPLE_SIZE = 5;
/** Slack on top of a job's own stopping condition for SageMaker to stop it and upload its output. */
const WAIT_SLACK_SECONDS = 1800;

export async function runPipeline(options: RunPipelineOptions): Promise<PipelineResult> {
  const { config } = options;
  const deps: PipelineDeps = {
    s3: options.deps?.s3 ?? new S3Client({}),
    sagemaker: options.deps?.sagemaker ?? new SageMakerClient({}),
    runtime: options.deps?.runtime ?? new SageMakerRuntimeClient({}),
  };
  const clock = options.clock ?? systemClock;
  const emit = options.onEvent ?? (() => {});
  const runId = deriveRunId(config.scheduledTime, config.scheduleTimezone, options.now);
  const started = clock.now();
  const steps: StepReport[] = [];
  const rules = config.publishing;
  let validation: ValidationResult | undefined;
  let quarantine: QuarantineShare | undefined;
  let outcomes: CustomerOutcome[] | undefined;
  let warm: WarmResult | undefined;
  let stale: StaleReport | undefined;
  let plan: TrainingPlan | undefined;
  let corrections: number | undefined;
  let cleanup: RetentionSummary | undefined;
  let published: { outcome: PublishOutcome; manifest: Manifest; keptPrevious: readonly string[] } | undefined;

  const step = async <T>(name: PipelineStep, work: () => Promise<T>, describe: (result: T) => { summary: string; report?: Partial<StepReport> }) => {
    emit({ type: 'step-started', step: name });
    const stepStarted = clock.now();
    let result: T;
    try {
      result = await work();
    } catch (error) {
      const seconds = round((clock.now() - stepStarted) / 1000);
      steps.push({ step: name, startedAt: new Date(stepStarted).toISOString(), seconds, error: (error as Error)?.message ?? String(error) });
      throw error;
    }
    const seconds = (clock.now() - stepStarted) / 1000;
    const { summary, report } = describe(result);
    steps.push({ step: name, startedAt: new Date(stepStarted).toISOString(), seconds: round(seconds), ...report });
    emit({ type: 'step-finished', step: name, seconds, summary });
    return result;
  };
  const jobReport = (result: JobStepResult) => ({
    summary: `${result.jobName} ${result.outcome}`,
    report: {
      jobName: result.jobName,
      attempt: result.attempt,
      outcome: result.outcome,
      ...(result.previousFailures.length > 0 ? { previousFailures: result.previousFailures } : {}),
    },
  });
  const jobEvents = (name: PipelineStep) => ({
    onStatus: (snapshot: JobStatusSnapshot) => emit({ type: 'job-status', step: name, snapshot }),
    onOutcome: (jobName: string, outcome: JobOutcome) => emit({ type: 'job-outcome', step: name, jobName, outcome }),
  });
  const waitOptions = { clock, ...(options.backoff ? { backoff: options.backoff } : {}) };

  emit({ type: 'run-started', runId, bucket: config.bucket, endpointName: config.endpointName });
  try {
    await step(
      'processing',
      async () => {
        const result = await runJobStep(processingJobAdapter(deps.sagemaker, (attempt) => buildProcessingJobRequest(config, runId, attempt)), {
          ...waitOptions,
          ...jobEvents('processing'),
          timeoutMs: (PROCESSING_MAX_RUNTIME_SECONDS + WAIT_SLACK_SECONDS) * 1000,
        });
        const summary = await readProcessingSummary(deps, config.bucket, runId);
        corrections = summary.rows.corrected;
        const checked = checkQuarantine(summary.rows, rules);
        quarantine = checked.quarantine;
        if (checked.stop) throw checked.stop;
        return result;
      },
      jobReport,
    );

    const settingsHash = trainingSettingsHash(config.training.hyperparameters);
    const currentPlan = await planRun(settingsHash);
    plan = currentPlan;
    const toTrain = currentPlan.train;
    const { StoppingCondition: stopping } = buildTrainingJobRequest(config, runId);
    const trainingLimit = stopping?.MaxWaitTimeInSeconds ?? stopping?.MaxRuntimeInSeconds ?? config.training.maxRuntimeSeconds;
    await step(
      'training',
      async () => {
        if (toTrain.length === 0) return undefined;
        await writeJson(deps.s3, config.bucket, trainingChannelKey(runId), buildTrainingChannelManifest(config.bucket, runId, toTrain));
        return runJobStep(
          trainingJobAdapter(
            deps.sagemaker,
            (attempt) => buildTrainingJobRequest(config, runId, attempt, toTrain.length),
            async () => `${await countKeys(deps, config.bucket, runModelsPrefix(runId), '.tar.gz')}/${toTrain.length} models`,
          ),
          { ...waitOptions, ...jobEvents('training'), timeoutMs: (trainingLimit + WAIT_SLACK_SECONDS) * 1000 },
        );
      },
      (result) => {
        const planned = describePlan(currentPlan);
        if (result === undefined) return { summary: `nothing to train: ${planned}` };
        const job = jobReport(result);
        return { ...job, summary: `${job.summary}: ${planned}` };
      },
    );

    validation = await step(
      'validation',
      async () =>
        toTrain.length === 0
          ? { customers: 0, modelsFound: 0, valid: {}, evidence: {}, failures: [], sampled: [] }
          : validateRun({
              s3: deps.s3,
              runtime: deps.runtime,
              bucket: config.bucket,
              runId,
              endpointName: config.endpointName,
              customers: toTrain,
              horizonDays: rules.gateHorizonDays,
              sampleSize: options.validationSampleSize ?? DEFAULT_VALIDATION_SAMPLE_SIZE,
              onProgress: (checked, total) => emit({ type: 'validation-progress', checked, total }),
            }),
      (result) => ({
        summary:
          `${Object.keys(result.valid).length}/${result.customers} models valid, ` +
          `${result.sampled.filter((s) => s.ok).length}/${result.sampled.length} sampled models answered through ${config.endpointName}`,
      }),
    );
    const checked = validation;
    let current: Manifest | undefined;
    // The stop rules judge the share over every customer served, the carried-over ones included.
    const withUnchanged = (judged: readonly CustomerOutcome[]) => [...judged, ...(plan ? unchangedOutcomes(plan) : [])];
    const accepted = await step(
      'gate',
      async () => {
        const currentText = await readTextIfExists(deps.s3, config.bucket, CURRENT_MANIFEST_KEY);
        current = currentText === undefined ? undefined : parseManifest(currentText, `s3://${config.bucket}/${CURRENT_MANIFEST_KEY}`);
        const gated = gateRun({ runId, challengers: checked.valid, evidence: checked.evidence, failures: checked.failures, current, settings: rules });
        outcomes = gated.outcomes;
        const stop = checkDecisions(withUnchanged(gated.outcomes), rules);
        if (stop) throw stop;
        return gated.accepted;
      },
      () => ({ summary: decisionSummary(outcomes ?? []) }),
    );
    await step(
      'warming',
      async () => {
        const targets = sampleOf(Object.keys(accepted), rules.warmModels).map((id) => (accepted[id] as ManifestEntry).targetModel);
        warm = await warmModels({
          runtime: deps.runtime,
          endpointName: config.endpointName,
          targetModels: targets,
          onProgress: (warmed, total) => emit({ type: 'warming-progress', warmed, total }),
        });
        // A model the endpoint cannot load is not published: its customer keeps the served model.
        const unloadable = new Map(warm.failures.map((f) => [f.targetModel, f.reason]));
        outcomes = (outcomes ?? []).map((outcome) => {
          const reason = outcome.decision === 'accepted' ? unloadable.get(accepted[outcome.customerId]?.targetModel ?? '') : undefined;
          if (reason === undefined) return outcome;
          delete accepted[outcome.customerId];
          const previous = current?.models[outcome.customerId]?.runId;
          return {
            customerId: outcome.customerId,
            decision: 'failed',
            code: FAILURE_CODES.endpoint,
            reason: `warming on endpoint ${config.endpointName} failed: ${reason}`,
            ...(previous === undefined ? {} : { servedRunId: previous }),
          };
        });
        const stop = checkDecisions(withUnchanged(outcomes), rules);
        if (stop) throw stop;
        return warm;
      },
      (result) => ({ summary: `${result.models}/${result.models + result.failures.length} models loaded on ${config.endpointName} in ${result.seconds.toFixed(1)} s` }),
    );
    published = await step(
      'publishing',
      () => {
        const fresh: Record<string, ManifestEntry> = {};
        for (const [customerId, entry] of Object.entries(accepted)) fresh[customerId] = { ...entry, settingsHash };
        const leaving = currentPlan.dropped.map((outcome) => outcome.customerId);
        return publishManifest({ s3: deps.s3, bucket: config.bucket, runId, endpointName: config.endpointName, fresh, remove: leaving, now: () => new Date(clock.now()) });
      },
      (result) => ({
        summary: publishingSummary(result, currentPlan.unchanged),
        report: { outcome: result.outcome },
      }),
    );
    const runTime = config.scheduledTime ?? options.now?.() ?? DateTime.utc();
    cleanup = (
      await step(
        'cleanup',
        () =>
          cleanUpBucket({
            s3: deps.s3,
            bucket: config.bucket,
            retentionDays: config.retentionDays,
            cutoffRunId: retentionCutoffRunId(runTime, config.retentionDays, config.scheduleTimezone),
            dryRun: false,
          }),
        (result) => ({
          summary:
            `${result.summary.removed.objects} objects (${result.summary.removed.bytes} bytes) of runs before ${result.summary.cutoffRunId} deleted, ` +
            `${result.summary.kept.objects} older objects kept because a kept manifest references them`,
        }),
      )
    ).summary;
    stale = staleModels(published.manifest, runId, config.scheduleTimezone, rules, new Set(Object.keys(currentPlan.unchanged)));
    if (stale.stop) throw stale.stop;
  } catch (error) {
    const report = buildReport('failed', error);
    await writeReport(report).catch(() => {});
    await writeMetrics(report).catch(() => {});
    throw new PipelineRunError(runId, report, error);
  }
  const report = buildReport('succeeded');
  await writeReport(report);
  await writeMetrics(report);
  return { runId, manifest: published.manifest, publishOutcome: published.outcome, report };

  function buildReport(status: 'succeeded' | 'failed', error?: unknown): RunReport {
    const finished = clock.now();
    // The gate decides for the customers this run trained; the plan for those it carried over or dropped.
    const decided: CustomerOutcome[] = [...(outcomes ?? []), ...(plan ? [...unchangedOutcomes(plan), ...plan.dropped] : [])];
    return {
      formatVersion: 1,
      runId,
      status,
      ...(error !== undefined ? { error: errorReport(error) } : {}),
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      seconds: round((finished - started) / 1000),
      bucket: config.bucket,
      endpointName: config.endpointName,
      steps,
      ...(corrections === undefined ? {} : { corrections }),
      ...(cleanup === undefined ? {} : { cleanup }),
      ...(plan
        ? {
            retraining: {
              fullRetrain: config.fullRetrain,
              trained: plan.train.length,
              reasons: plan.reasons,
              inactive: plan.inactive,
              ...(plan.newestRow === undefined ? {} : { newestRow: plan.newestRow }),
              ...(plan.train.length > 0 ? { channel: s3Uri(config.bucket, trainingChannelKey(runId)) } : {}),
            },
          }
        : {}),
      ...(validation
        ? {
            counts: {
              customers: validation.customers,
              modelsFound: validation.modelsFound,
              modelsValid: Object.keys(validation.valid).length,
              modelsInvalid: validation.failures.length,
              sampled: validation.sampled.length,
              sampleFailures: validation.sampled.filter((s) => !s.ok).length,
              ...(published
                ? { manifestEntries: Object.keys(published.manifest.models).length, keptPrevious: published.keptPrevious.length }
                : {}),
            },
            failures: validation.failures,
            metrics: summarizeMetrics(Object.values(validation.valid)),
          }
        : {}),
      ...(outcomes || plan ? { decisions: countDecisions(decided), outcomes: decided.filter((o) => o.decision !== 'accepted') } : {}),
      ...(quarantine ? { quarantine } : {}),
      ...(warm ? { warm: { models: warm.models, seconds: warm.seconds, failures: warm.failures.length } } : {}),
      ...(stale
        ? { stale: { maxModelAgeDays: stale.maxModelAgeDays, customers: stale.customers }, ...(stale.oldestModelAgeDays !== undefined ? { oldestModelAgeDays: stale.oldestModelAgeDays } : {}) }
        : {}),
    };
  }

  /**
   * The run's training plan: computed once from the processing job's customer index and the serving
   * manifest, and stored, so a rerun of the night resumes the same training job on the
   * same channel even after its first invocation has published.
   */
  async function planRun(settingsHash: string): Promise<TrainingPlan> {
    const reportPrefix = processingReportPrefix(runId);
    const storedText = await readTextIfExists(deps.s3, config.bucket, trainingPlanKey(runId));
    const stored = storedText === undefined ? undefined : parseStoredPlan(storedText, `s3://${config.bucket}/${trainingPlanKey(runId)}`);
    if (stored !== undefined && stored.settingsHash === settingsHash && stored.fullRetrain === config.fullRetrain) return stored.plan;
    const indexKey = `${reportPrefix}${CUSTOMER_INDEX_FILE}`;
    const indexText = await readTextIfExists(deps.s3, config.bucket, indexKey);
    if (indexText === undefined) throw new Error(`The processing step wrote no customer index at s3://${config.bucket}/${indexKey}: nothing to train or publish`);
    const currentText = await readTextIfExists(deps.s3, config.bucket, CURRENT_MANIFEST_KEY);
    const planned = planTraining({
      index: parseCustomerIndex(indexText, `s3://${config.bucket}/${indexKey}`),
      current: currentText === undefined ? undefined : parseManifest(currentText, `s3://${config.bucket}/${CURRENT_MANIFEST_KEY}`),
      settingsHash,
      fullRetrain: config.fullRetrain,
      dropAfterDays: config.dropAfterDays,
    });
    await writeJson(deps.s3, config.bucket, trainingPlanKey(runId), storedPlan(planned, settingsHash, config.fullRetrain));
    return planned;
  }

  async function writeReport(report: RunReport): Promise<void> {
    await writeJson(deps.s3, config.bucket, reportKey(runId), report);
    await writeJson(deps.s3, config.bucket, lastingReportKey(runId), report);
    emit({ type: 'run-finished', runId, status: report.status, seconds: report.seconds, reportUri: `s3://${config.bucket}/${reportKey(runId)}` });
  }

  /** The run's metrics, from the finished report only, so they always agree with it. */
  async function writeMetrics(report: RunReport): Promise<void> {
    const written = await writeEmfRecords(runId, new Date(report.finishedAt), runMetricRecords(report, config.metrics.stack), config.metrics);
    emit({ type: 'metrics-written', ...written });
  }
}

async function readProcessingSummary(deps: PipelineDeps, bucket: string, runId: string): Promise<ProcessingSummary> {
  const key = `${processingReportPrefix(runId)}${SUMMARY_FILE}`;
  const text = await readTextIfExists(deps.s3, bucket, key);
  if (text === undefined) throw new Error(`The processing job finished without its summary at s3://${bucket}/${key}; cannot check the share of quarantined rows`);
  return JSON.parse(text) as ProcessingSummary;
}

function decisionSummary(outcomes: readonly CustomerOutcome[]): string {
  const counts = countDecisions(outcomes);
  return `${counts.accepted} accepted, ${counts.rejected} rejected, ${counts.failed} failed (${counts.kept} keep an older model)`;
}

/**
 * The published manifest in words. A customer carried over because its data did not change is
 * `unchanged`; only the others on an older run's model (rejected or failed) kept an older model.
 */
function publishingSummary(result: PublishResult, unchanged: Readonly<Record<string, unknown>>): string {
  const carried = result.keptPrevious.filter((customerId) => Object.hasOwn(unchanged, customerId)).length;
  const customers = Object.keys(result.manifest.models).length;
  return (
    `${result.outcome}: ${customers} customers in the manifest ` +
    `(${customers - result.keptPrevious.length} new models, ${carried} unchanged, ${result.keptPrevious.length - carried} kept an older model)`
  );
}

function errorReport(error: unknown): { name: string; message: string; code?: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    name: (error as Error)?.name ?? 'Error',
    message: (error as Error)?.message ?? String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** One line on who trains and why. */
function describePlan(plan: TrainingPlan): string {
  const why = Object.entries(plan.reasons)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  return `${plan.train.length} customers to train${why ? ` (${why})` : ''}, ${Object.keys(plan.unchanged).length} unchanged, ${plan.dropped.length} dropped`;
}

async function countKeys(deps: PipelineDeps, bucket: string, prefix: string, extension: string): Promise<number> {
  return (await listKeys(deps.s3, bucket, prefix)).filter((key) => customerIdOfKey(key, prefix, extension) !== undefined).length;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** One line per event, for logs and terminals. */
export function formatPipelineEvent(event: PipelineEvent): string {
  switch (event.type) {
    case 'run-started':
      return `run ${event.runId}: bucket ${event.bucket}, endpoint ${event.endpointName}`;
    case 'step-started':
      return `${event.step}: started`;
    case 'job-outcome':
      return `${event.step}: ${event.jobName} ${JOB_OUTCOME_TEXT[event.outcome]}`;
    case 'job-status': {
      const s = event.snapshot;
      const parts = [s.status, s.secondaryStatus, s.progress, s.failureReason ?? s.message].filter((p) => p !== undefined && p !== '');
      return `${event.step}: ${s.jobName} ${parts.join(' · ')}`;
    }
    case 'validation-progress':
      return `validation: ${event.checked}/${event.total} models checked`;
    case 'warming-progress':
      return `warming: ${event.warmed}/${event.total} models loaded`;
    case 'step-finished':
      return `${event.step}: done in ${event.seconds.toFixed(1)} s (${event.summary})`;
    case 'run-finished':
      return `run ${event.runId} ${event.status} in ${event.seconds.toFixed(1)} s; report ${event.reportUri}`;
    case 'metrics-written':
      return `metrics: ${event.records} EMF records to ${event.destination}`;
  }
}

const JOB_OUTCOME_TEXT: Record<JobOutcome, string> = {
  created: 'created',
  retried: 'created to retry a failed attempt',
  resumed: 'already running: waiting for it',
  skipped: 'already completed: skipped',
};
