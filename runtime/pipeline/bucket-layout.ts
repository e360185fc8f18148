/** Where one run's objects live in the stack's bucket (DESIGN.md, "Bucket layout"). */
export const MODELS_PREFIX = 'models/';

/** Every run's data, one folder per run id (`runPrefix`). */
export const RUNS_PREFIX = 'runs/';

export function runPrefix(runId: string): string {
  return `${RUNS_PREFIX}${runId}/`;
}

/** Processing output: `<customerId>.csv`, one object per customer; the training channel. */
export function customerDataPrefix(runId: string): string {
  return `${runPrefix(runId)}customer-data/`;
}

/**
 * The training channel: a SageMaker ManifestFile listing the customer files this run retrains (a
 * subset of `customer-data/`), so ShardedByS3Key spreads only the customers that changed.
 */
export function trainingChannelKey(runId: string): string {
  return `${runPrefix(runId)}training-channel.json`;
}

/** The run's training plan (who trains, who carries over, who leaves), kept so a rerun resumes the same plan. */
export function trainingPlanKey(runId: string): string {
  return `${runPrefix(runId)}training-plan.json`;
}

export function processingReportPrefix(runId: string): string {
  return `${runPrefix(runId)}processing-report/`;
}

export function trainingOutputPrefix(runId: string): string {
  return `${runPrefix(runId)}training-output/`;
}

export function reportKey(runId: string): string {
  return `${runPrefix(runId)}report.json`;
}

/** Lasting copies of the run reports: outside `runs/`, so the run data's expiry leaves the history. */
export const REPORTS_PREFIX = 'reports/';

export function lastingReportKey(runId: string): string {
  return `${REPORTS_PREFIX}${runId}.json`;
}

/** The training job's checkpoint folder: each finished customer's model lands here as `<customerId>.tar.gz`. */
export function runModelsPrefix(runId: string): string {
  return `${MODELS_PREFIX}${runId}/`;
}

export function modelKey(runId: string, customerId: string): string {
  return `${runModelsPrefix(runId)}${customerId}.tar.gz`;
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** The customer id of a key `<prefix><customerId><extension>` directly under the prefix, or undefined. */
export function customerIdOfKey(key: string, prefix: string, extension: string): string | undefined {
  if (!key.startsWith(prefix) || !key.endsWith(extension)) return undefined;
  const id = key.slice(prefix.length, key.length - extension.length);
  return id.length > 0 && !id.includes('/') ? id : undefined;
}
