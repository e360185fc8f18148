import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { customerDataPrefix, customerIdOfKey, modelKey, runModelsPrefix } from './bucket-layout.js';
import { forEachWithConcurrency, invokeModel } from './endpoint-invoke.js';
import type { ChallengerEvidence } from './gate.js';
import { compareCustomerIds, type ManifestEntry } from './manifest.js';
import { FAILURE_CODES, type FailureCode, type ModelCheck } from './model-check.js';
import { createModelChecker, modelCheckThreads, type ModelChecker } from './model-check-pool.js';
import { listKeys, readBytes } from './s3-objects.js';
import { RunStopError, STOP_CODES } from './stop-rules.js';

export { FAILURE_CODES, type FailureCode } from './model-check.js';

/**
 * Checks a run's models before anything is published: every customer the processing step wrote
 * data for must have a readable model of this run that replays, and a sample of the new models
 * must answer through the endpoint. A customer that fails keeps its current model. Reading each
 * model also gathers the quality gate's evidence about it. Models are read into memory (no temp
 * files) and checked on worker threads, one per core, while this thread downloads the next ones.
 */

export interface ModelFailure {
  readonly customerId: string;
  readonly code: FailureCode;
  readonly reason: string;
}

export interface ValidationResult {
  /** Customers in the processing output. */
  readonly customers: number;
  /** Models found under `models/<runId>/` for those customers. */
  readonly modelsFound: number;
  /** Valid new models, keyed by customer id: the fresh manifest entries. */
  readonly valid: Readonly<Record<string, ManifestEntry>>;
  /** The gate's evidence about each valid model. */
  readonly evidence: Readonly<Record<string, ChallengerEvidence>>;
  readonly failures: readonly ModelFailure[];
  /** Customers whose new model was invoked through the endpoint, and how it went. */
  readonly sampled: readonly { customerId: string; ok: boolean; milliseconds: number }[];
}

export interface ValidationOptions {
  readonly s3: S3Client;
  readonly runtime: SageMakerRuntimeClient;
  readonly bucket: string;
  readonly runId: string;
  readonly endpointName: string;
  /** The customers this run trained; default every customer the processing step wrote data for. */
  readonly customers?: readonly string[];
  /** How many new models to invoke through the endpoint. */
  readonly sampleSize: number;
  /** Days ahead asked of each sampled model. */
  readonly samplePeriod?: number;
  /** Days ahead each model's forecast is replayed for the gate. */
  readonly horizonDays: number;
  /** Parallel model downloads. */
  readonly concurrency?: number;
  /** Worker threads that check models; default {@link modelCheckThreads} of the customer count (0: this thread). */
  readonly checkThreads?: number;
  readonly onProgress?: (checked: number, total: number) => void;
}

export class EndpointValidationError extends Error {
  override readonly name = 'EndpointValidationError';
  readonly code = 'E_ENDPOINT_VALIDATION';
}

const DEFAULT_SAMPLE_PERIOD = 7;
const DEFAULT_CONCURRENCY = 8;
const PROGRESS_EVERY = 100;

export async function validateRun(options: ValidationOptions): Promise<ValidationResult> {
  const { s3, bucket, runId } = options;
  const dataPrefix = customerDataPrefix(runId);
  const modelsPrefix = runModelsPrefix(runId);
  const customers = [
    ...(options.customers ??
      (await listKeys(s3, bucket, dataPrefix)).map((key) => customerIdOfKey(key, dataPrefix, '.csv')).filter((id): id is string => id !== undefined)),
  ].sort(compareCustomerIds);
  if (customers.length === 0) {
    throw new RunStopError(STOP_CODES.noValidModels, `The processing step wrote no customer data under s3://${bucket}/${dataPrefix}: nothing to validate or publish`);
  }
  const modelIds = new Set(
    (await listKeys(s3, bucket, modelsPrefix)).map((key) => customerIdOfKey(key, modelsPrefix, '.tar.gz')).filter((id) => id !== undefined),
  );

  const valid: Record<string, ManifestEntry> = {};
  const evidence: Record<string, ChallengerEvidence> = {};
  const failures: ModelFailure[] = [];
  const checker = createModelChecker(options.checkThreads ?? modelCheckThreads(customers.length));
  let checked = 0;
  try {
    // Several downloads in flight per checking thread, so no thread waits for bytes.
    await forEachWithConcurrency(customers, options.concurrency ?? DEFAULT_CONCURRENCY, async (customerId) => {
      const outcome = modelIds.has(customerId)
        ? await checkModel(options, checker, customerId)
        : { code: FAILURE_CODES.missing, reason: `no model at s3://${bucket}/${modelKey(runId, customerId)}` };
      if ('entry' in outcome) {
        valid[customerId] = outcome.entry;
        evidence[customerId] = outcome.evidence;
      } else failures.push({ customerId, ...outcome });
      checked += 1;
      if (checked % PROGRESS_EVERY === 0 || checked === customers.length) options.onProgress?.(checked, customers.length);
    });
  } finally {
    await checker.close();
  }

  const sampled = await invokeSample(options, sampleOf(Object.keys(valid).sort(compareCustomerIds), options.sampleSize), valid, failures);
  failures.sort((a, b) => compareCustomerIds(a.customerId, b.customerId));
  for (const failure of failures) delete evidence[failure.customerId];
  return { customers: customers.length, modelsFound: customers.filter((id) => modelIds.has(id)).length, valid, evidence, failures, sampled };
}

async function checkModel(options: ValidationOptions, checker: ModelChecker, customerId: string): Promise<ModelCheck> {
  const { s3, bucket, runId } = options;
  const key = modelKey(runId, customerId);
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(s3, bucket, key);
  } catch (error) {
    return { code: FAILURE_CODES.unreadable, reason: `unreadable model: ${(error as Error).message}` };
  }
  return checker.check(bytes, { customerId, runId, horizonDays: options.horizonDays, source: `s3://${bucket}/${key}` });
}

/** Up to `size` ids spread evenly over the sorted list, so the sample covers every training instance's shard. */
export function sampleOf(ids: readonly string[], size: number): string[] {
  if (size <= 0 || ids.length === 0) return [];
  if (size >= ids.length) return [...ids];
  return Array.from({ length: size }, (_, i) => ids[Math.floor((i * ids.length) / size)] as string);
}

async function invokeSample(
  options: ValidationOptions,
  sample: readonly string[],
  valid: Record<string, ManifestEntry>,
  failures: ModelFailure[],
): Promise<{ customerId: string; ok: boolean; milliseconds: number }[]> {
  const period = options.samplePeriod ?? DEFAULT_SAMPLE_PERIOD;
  const results: { customerId: string; ok: boolean; milliseconds: number }[] = [];
  const reasons: string[] = [];
  for (const customerId of sample) {
    const entry = valid[customerId] as ManifestEntry;
    const started = performance.now();
    try {
      const forecast = await invokeModel(options.runtime, options.endpointName, entry.targetModel, period);
      if (forecast.customerId !== customerId) throw new Error(`the endpoint answered for customer ${forecast.customerId}`);
      if (forecast.runId !== options.runId) throw new Error(`the endpoint answered with a model of run ${forecast.runId} (stale copy?)`);
      results.push({ customerId, ok: true, milliseconds: performance.now() - started });
    } catch (error) {
      const reason = `invoking ${entry.targetModel} on endpoint ${options.endpointName} failed: ${(error as Error).name}: ${(error as Error).message}`;
      reasons.push(reason);
      delete valid[customerId];
      failures.push({ customerId, code: FAILURE_CODES.endpoint, reason });
      results.push({ customerId, ok: false, milliseconds: performance.now() - started });
    }
  }
  if (sample.length > 0 && results.every((r) => !r.ok)) {
    throw new EndpointValidationError(
      `None of the ${sample.length} sampled models answered through endpoint ${options.endpointName}; nothing was published. First error: ${reasons[0]}`,
    );
  }
  return results;
}
