import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { SAGEMAKER_NAME_MAX_LENGTH, SAGEMAKER_NAME_PATTERN } from '../config/sagemaker-limits.js';

/**
 * A run id is the scheduled start time in the schedule's time zone, `yyyyMMdd-HHmm`. The scheduler
 * passes the time it meant to start the run, so a rerun of the same night gets the same id and
 * resumes that run's jobs instead of starting new ones. Ids sort in time order.
 */
export const RUN_ID_FORMAT = 'yyyyMMdd-HHmm';

export function deriveRunId(scheduledTime: DateTime | undefined, timeZone: string, now: () => DateTime = () => DateTime.utc()): string {
  const time = (scheduledTime ?? now()).setZone(timeZone);
  if (!time.isValid) {
    throw new RangeError(`Cannot derive a run id in time zone ${JSON.stringify(timeZone)}: ${time.invalidExplanation ?? time.invalidReason}`);
  }
  return time.toFormat(RUN_ID_FORMAT);
}


export type JobStep = 'process' | 'train';
export const JOB_STEPS: readonly JobStep[] = ['process', 'train'];

/**
 * IAM wildcard patterns that match every name `jobName` gives a step's jobs for this prefix, and
 * no job of a stack whose prefix merely starts with this one (`dev` against `dev-2`, `dev2`,
 * `dev-12345678-1234`): only `?` (one character each), no `*`, so each pattern matches names of
 * exactly one length, and the run id's `-` sits where a longer prefix puts a digit of its run id.
 * One pattern per attempt-suffix length (none, `-r2`…`-r9`, `-r10`…).
 */
export function jobNamePatterns(prefix: string, step: JobStep, maxAttempts: number): string[] {
  const runId = RUN_ID_FORMAT.replace(/[^-]/g, '?');
  const longest = jobName(prefix, RUN_ID_FORMAT.replace(/[^-]/g, '0'), step, maxAttempts);
  if (!longest.includes(`-${RUN_ID_FORMAT.replace(/[^-]/g, '0')}-`)) {
    throw new RangeError(`Job name prefix ${JSON.stringify(prefix)} is too long for run ids in job names; IAM patterns need them`);
  }
  const patterns = [`${prefix}-${runId}-${step}`];
  for (let digits = 1; digits <= String(maxAttempts).length; digits += 1) patterns.push(`${prefix}-${runId}-${step}-r${'?'.repeat(digits)}`);
  return patterns;
}

/**
 * `<prefix>-<runId>-<step>`, plus `-r<attempt>` from the second attempt on. Deterministic, so a rerun
 * finds its jobs by name. A name that would pass 63 characters keeps the prefix (IAM allows only names
 * that start with it) and replaces the run id with a short hash of it.
 */
export function jobName(prefix: string, runId: string, step: JobStep, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`Job attempt is ${attempt}; expected an integer from 1`);
  }
  const suffix = attempt === 1 ? step : `${step}-r${attempt}`;
  let name = `${prefix}-${runId}-${suffix}`;
  if (name.length > SAGEMAKER_NAME_MAX_LENGTH) {
    const hash = createHash('sha256').update(runId).digest('hex').slice(0, 10);
    name = `${prefix}-${hash}-${suffix}`;
  }
  if (!SAGEMAKER_NAME_PATTERN.test(name)) {
    throw new RangeError(
      `Job name ${JSON.stringify(name)} does not match SageMaker's ${SAGEMAKER_NAME_PATTERN.source} (at most ${SAGEMAKER_NAME_MAX_LENGTH} characters); check the job name prefix and run id`,
    );
  }
  return name;
}
