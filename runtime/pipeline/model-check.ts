import { readModelArchiveBytes } from '../../containers/shared/model-artifact.js';
import type { ChallengerEvidence } from './gate.js';
import { challengerEvidence } from './gate-evidence.js';
import { targetModelName, type ManifestEntry } from './manifest.js';

/**
 * One new model judged from its archive's bytes: readable, of the right customer and run, and
 * replayable, with the gate's evidence about it. Pure CPU work, so validation can run it on
 * worker threads (model-check-pool.ts) while the main thread downloads the next models.
 */

/** Stable codes of a customer's failure, in the report's outcomes. */
export const FAILURE_CODES = {
  missing: 'E_MODEL_MISSING',
  unreadable: 'E_MODEL_UNREADABLE',
  mismatch: 'E_MODEL_MISMATCH',
  endpoint: 'E_MODEL_ENDPOINT',
} as const;

export type FailureCode = (typeof FAILURE_CODES)[keyof typeof FAILURE_CODES];

export interface ModelCheckRequest {
  readonly customerId: string;
  readonly runId: string;
  /** Days ahead the model's forecast is replayed for the gate. */
  readonly horizonDays: number;
  /** Where the bytes came from (`s3://…`), for error messages. */
  readonly source: string;
}

export type ModelCheck = { entry: ManifestEntry; evidence: ChallengerEvidence } | { code: FailureCode; reason: string };

export async function checkModelBytes(bytes: Uint8Array, request: ModelCheckRequest): Promise<ModelCheck> {
  const { customerId, runId } = request;
  try {
    // The reader refuses non-finite metrics and a history altered after the fit; replay refuses a fit that does not match its data.
    const model = await readModelArchiveBytes(bytes, request.source);
    if (model.customerId !== customerId) return { code: FAILURE_CODES.mismatch, reason: `the model is for customer ${model.customerId}` };
    if (model.runId !== runId) return { code: FAILURE_CODES.mismatch, reason: `the model was trained by run ${model.runId}, not ${runId}` };
    return {
      entry: {
        targetModel: targetModelName(runId, customerId),
        runId,
        trainedAt: model.trainedAt,
        metrics: { ...model.metrics },
        ...(model.source === undefined ? {} : { sourceSha256: model.source.sha256 }),
      },
      evidence: await challengerEvidence(model, request.horizonDays),
    };
  } catch (error) {
    return { code: FAILURE_CODES.unreadable, reason: `unreadable model: ${(error as Error).message}` };
  }
}
