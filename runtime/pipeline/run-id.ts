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
