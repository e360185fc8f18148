import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  type CreateProcessingJobRequest,
  type CreateTrainingJobRequest,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { DEFAULT_PROGRESS_INTERVAL_MS, systemClock, waitUntilTerminal, type BackoffOptions, type Clock, type JobSnapshot } from './waiter.js';

/**
 * Runs one SageMaker job of a run so that rerunning the run never starts a duplicate. Job names are
 * deterministic (`…-train`, `…-train-r2`, …); before creating one, the step describes them in order:
 * a completed job is skipped, one in progress is waited on, a failed or stopped one is retried under
 * the next name. A job this invocation waited on that fails ends the step: the rerun retries it.
 */

export type JobKind = 'processing' | 'training';

export type JobOutcome =
  /** Created by this invocation. */
  | 'created'
  /** Created by this invocation after earlier attempts failed. */
  | 'retried'
  /** Found in progress (started by an earlier invocation) and waited on. */
  | 'resumed'
  /** Found completed: nothing to do. */
  | 'skipped';

export interface JobStatusSnapshot extends JobSnapshot {
  readonly jobName: string;
  readonly failureReason?: string | undefined;
}

export interface JobAdapter {
  readonly kind: JobKind;
  /** The request of attempt N (1-based); its name derives from the run id and N. */
  request(attempt: number): { name: string; create: () => Promise<void> };
  /** The job's state, or undefined when no job has that name. */
  describe(name: string): Promise<JobStatusSnapshot | undefined>;
  /** Extra progress shown while the job runs (for example models uploaded so far). */
  progress?(): Promise<string | undefined>;
}

export interface JobStepResult {
  readonly kind: JobKind;
  readonly jobName: string;
  readonly attempt: number;
  readonly outcome: JobOutcome;
  readonly status: string;
  /** Earlier attempts of this run that had failed or stopped, oldest first. */
  readonly previousFailures: readonly { jobName: string; status: string; reason: string }[];
}

export interface JobStepOptions {
  readonly timeoutMs: number;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly onStatus?: (snapshot: JobStatusSnapshot) => void;
  readonly onOutcome?: (jobName: string, outcome: JobOutcome) => void;
}

/** Attempts of one job per run, across reruns; past this a person should look at the failures. */
export const MAX_JOB_ATTEMPTS = 20;

export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  readonly code = 'E_JOB_FAILED';
  constructor(
    readonly kind: JobKind,
    readonly jobName: string,
    readonly status: string,
    readonly reason: string | undefined,
  ) {
    super(
      `The ${kind} job ${jobName} ended ${status}${reason ? `: ${reason}` : ''}. ` +
        'Nothing was published; rerun the same run to retry it under a new name (finished work is kept).',
    );
  }
}

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);

export async function runJobStep(adapter: JobAdapter, options: JobStepOptions): Promise<JobStepResult> {
  const previousFailures: { jobName: string; status: string; reason: string }[] = [];
  for (let attempt = 1; attempt <= MAX_JOB_ATTEMPTS; attempt += 1) {
    const { name, create } = adapter.request(attempt);
    const existing = await adapter.describe(name);
    let outcome: JobOutcome;
    if (existing === undefined) {
      outcome = attempt === 1 ? 'created' : 'retried';
      const created = await createUnlessRacing(create);
      if (!created) outcome = 'resumed';
    } else if (existing.status === 'Completed') {
      options.onOutcome?.(name, 'skipped');
      options.onStatus?.(existing);
      return { kind: adapter.kind, jobName: name, attempt, outcome: 'skipped', status: existing.status, previousFailures };
    } else if (TERMINAL.has(existing.status)) {
      previousFailures.push({ jobName: name, status: existing.status, reason: existing.failureReason ?? 'no reason given' });
      continue;
    } else {
      outcome = 'resumed';
    }
    options.onOutcome?.(name, outcome);
    const final = await waitUntilTerminal(`${adapter.kind} job ${name}`, progressPoller(adapter, name, options.clock ?? systemClock), {
      timeoutMs: options.timeoutMs,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.onStatus ? { onChange: options.onStatus } : {}),
    });
    if (final.status !== 'Completed') throw new JobFailedError(adapter.kind, name, final.status, final.failureReason ?? final.message);
    return { kind: adapter.kind, jobName: name, attempt, outcome, status: final.status, previousFailures };
  }
  const last = previousFailures.at(-1);
  throw new JobFailedError(
    adapter.kind,
    last?.jobName ?? '(none)',
    `after ${MAX_JOB_ATTEMPTS} attempts`,
    `the last one ended ${last?.status}: ${last?.reason}`,
  );
}

/**
 * How often a job's extra progress is worked out while the job runs. The training step's lists the
 * run's models (a ListObjectsV2 page per thousand), and the waiter reports a change of progress at
 * most every DEFAULT_PROGRESS_INTERVAL_MS: counting on every poll (every 0.2–1 s in local mode)
 * only added listings, each read from the same store the job is writing to.
 */
export const PROGRESS_REFRESH_MS = DEFAULT_PROGRESS_INTERVAL_MS / 2;

/** Polls the job's state; its extra progress is asked for at most every PROGRESS_REFRESH_MS and reused in between. */
function progressPoller(adapter: JobAdapter, name: string, clock: Clock): () => Promise<JobStatusSnapshot> {
  let counted: { progress: string | undefined; at: number } | undefined;
  return async () => {
    const snapshot = await adapter.describe(name);
    if (snapshot === undefined) throw new Error(`The ${adapter.kind} job ${name} disappeared while it was being waited on`);
    if (snapshot.terminal || adapter.progress === undefined) return snapshot;
    if (counted === undefined || clock.now() - counted.at >= PROGRESS_REFRESH_MS) counted = { progress: await adapter.progress(), at: clock.now() };
    return counted.progress === undefined ? snapshot : { ...snapshot, progress: counted.progress };
  };
}

/** Another invocation of the same run may create the job first: then this one waits on it. */
async function createUnlessRacing(create: () => Promise<void>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (error) {
    if (errorName(error) === 'ResourceInUse') return false;
    throw error;
  }
}

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * SageMaker answers Describe* on a missing job with `ValidationException` "Requested resource not
 * found." (not `ResourceNotFound`), so both are read as "no such job".
 */
export function isJobNotFound(error: unknown): boolean {
  const name = errorName(error);
  const message = (error as { message?: unknown } | null)?.message;
  if (name === 'ResourceNotFound') return true;
  return name === 'ValidationException' && typeof message === 'string' && /not found|does not exist|could not find/i.test(message);
}

/** A Describe call's answer, or undefined when the job does not exist. */
async function unlessNotFound<T>(describe: Promise<T>): Promise<T | undefined> {
  try {
    return await describe;
  } catch (error) {
    if (isJobNotFound(error)) return undefined;
    throw error;
  }
}

export function processingJobAdapter(sagemaker: SageMakerClient, build: (attempt: number) => CreateProcessingJobRequest): JobAdapter {
  return {
    kind: 'processing',
    request(attempt) {
      const request = build(attempt);
      const name = request.ProcessingJobName ?? '';
      return { name, create: async () => void (await sagemaker.send(new CreateProcessingJobCommand(request))) };
    },
    async describe(name) {
      const job = await unlessNotFound(sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name })));
      if (!job) return undefined;
      const status = job.ProcessingJobStatus ?? 'Unknown';
      return {
        jobName: name,
        status,
        message: job.ExitMessage || undefined,
        failureReason: job.FailureReason || undefined,
        terminal: TERMINAL.has(status),
      };
    },
  };
}

export function trainingJobAdapter(
  sagemaker: SageMakerClient,
  build: (attempt: number) => CreateTrainingJobRequest,
  progress?: () => Promise<string | undefined>,
): JobAdapter {
  return {
    kind: 'training',
    request(attempt) {
      const request = build(attempt);
      const name = request.TrainingJobName ?? '';
      return { name, create: async () => void (await sagemaker.send(new CreateTrainingJobCommand(request))) };
    },
    async describe(name) {
      const job = await unlessNotFound(sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })));
      if (!job) return undefined;
      const status = job.TrainingJobStatus ?? 'Unknown';
      const transition = job.SecondaryStatusTransitions?.at(-1);
      return {
        jobName: name,
        status,
        secondaryStatus: job.SecondaryStatus,
        message: transition?.StatusMessage || undefined,
        failureReason: job.FailureReason || undefined,
        terminal: TERMINAL.has(status),
      };
    },
    ...(progress ? { progress } : {}),
  };
}
