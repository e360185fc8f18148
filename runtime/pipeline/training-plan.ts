import { createHash } from 'node:crypto';
import type { CustomerIndexEntry } from '../../containers/processing/customer-index.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from '../../containers/shared/model-artifact.js';
import { JOB_ONLY_HYPERPARAMETERS } from '../../containers/training/hyperparameters.js';
import type { CustomerOutcome } from './decisions.js';
import { MANIFEST_FORMAT_VERSION, compareCustomerIds, parseManifest, type Manifest, type ManifestEntry } from './manifest.js';

/**
 * Who a run trains (pure). A customer is retrained only when its processed data or the training
 * settings differ from what its serving model was trained on: the manifest entry records the
 * SHA-256 of the customer file the model was fitted on (`sourceSha256`, the artifact's
 * `source.sha256`) and the settings hash (`settingsHash`), and the processing job's customer index
 * gives today's file hash, so the decision needs no model download. A customer with no row within
 * `dropAfterDays` of the data set's newest row has left: it is not trained and leaves the manifest.
 */

export const DAY_MS = 86_400_000;

export type RetrainReason =
  /** Not in the serving manifest yet. */
  | 'new'
  /** Its customer file hashes differently from the one its model was fitted on. */
  | 'data'
  /** The settings hash (hyperparameters, model format and version) differs, or the entry predates it. */
  | 'settings'
  /** A full retrain was asked for. */
  | 'forced';

export interface TrainingPlan {
  /** Customers to train, in id order: exactly the training channel's files. */
  readonly train: readonly string[];
  readonly reasons: Readonly<Record<RetrainReason, number>>;
  /** Serving entries that carry over untouched into the run's manifest. */
  readonly unchanged: Readonly<Record<string, ManifestEntry>>;
  /** Customers that leave the manifest; outcomes with decision `dropped`. */
  readonly dropped: readonly CustomerOutcome[];
  /** Customers in the data with no recent row and no serving model: neither trained nor served. */
  readonly inactive: number;
  /** ISO time of the data set's newest row, the reference of the drop-after window. */
  readonly newestRow: string | undefined;
}

export const DROPPED_CODE = 'E_CUSTOMER_INACTIVE';
export const REMOVED_CODE = 'E_CUSTOMER_NO_DATA';

/**
 * The hash of everything besides the data that shapes a model: the model format and its version,
 * and the hyperparameters the pipeline passes, except those that only steer the job.
 */
export function trainingSettingsHash(hyperparameters: Readonly<Record<string, string>>): string {
  const shaping = Object.entries(hyperparameters)
    .filter(([name]) => !(JOB_ONLY_HYPERPARAMETERS as readonly string[]).includes(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify({ format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, hyperparameters: shaping })).digest('hex');
}

export function planTraining(args: {
  readonly index: readonly CustomerIndexEntry[];
  readonly current: Manifest | undefined;
  readonly settingsHash: string;
  readonly fullRetrain: boolean;
  readonly dropAfterDays: number;
}): TrainingPlan {
  const { current, settingsHash } = args;
  const newestMs = args.index.reduce((max, entry) => Math.max(max, entry.lastMs), -Infinity);
  const cutoffMs = newestMs - args.dropAfterDays * DAY_MS;
  const train: string[] = [];
  const reasons: Record<RetrainReason, number> = { new: 0, data: 0, settings: 0, forced: 0 };
  const unchanged: Record<string, ManifestEntry> = {};
  const dropped: CustomerOutcome[] = [];
  const inData = new Set<string>();
  let inactive = 0;
  for (const customer of args.index) {
    const customerId = String(customer.customerId);
    inData.add(customerId);
    const serving = current?.models[customerId];
    if (customer.lastMs < cutoffMs) {
      if (serving === undefined) inactive += 1;
      else {
        dropped.push({
          customerId,
          decision: 'dropped',
          code: DROPPED_CODE,
          reason: `no row after ${new Date(customer.lastMs).toISOString()}, more than ${args.dropAfterDays} days before the newest row of the data (${new Date(newestMs).toISOString()})`,
        });
      }
      continue;
    }
    const reason: RetrainReason | undefined =
      serving === undefined
        ? 'new'
        : args.fullRetrain
          ? 'forced'
          : serving.settingsHash !== settingsHash
            ? 'settings'
            : serving.sourceSha256 !== customer.sha256
              ? 'data'
              : undefined;
    if (reason === undefined) unchanged[customerId] = serving!;
    else {
      train.push(customerId);
      reasons[reason] += 1;
    }
  }
  for (const customerId of Object.keys(current?.models ?? {})) {
    if (inData.has(customerId)) continue;
    dropped.push({ customerId, decision: 'dropped', code: REMOVED_CODE, reason: 'no row of this customer is left in the raw data' });
  }
  train.sort(compareCustomerIds);
  dropped.sort((a, b) => compareCustomerIds(a.customerId, b.customerId));
  return {
    train,
    reasons,
    unchanged,
    dropped,
    inactive,
    newestRow: Number.isFinite(newestMs) ? new Date(newestMs).toISOString() : undefined,
  };
}

/** Outcomes of the carried-over customers, for the run report. */
export function unchangedOutcomes(plan: TrainingPlan): CustomerOutcome[] {
  return Object.entries(plan.unchanged).map(([customerId, entry]) => ({ customerId, decision: 'unchanged', servedRunId: entry.runId }));
}

/** The plan as stored in `runs/<runId>/training-plan.json`, with what it was computed under. */
export interface StoredPlan {
  readonly format: 'training-plan';
  readonly version: 1;
  readonly settingsHash: string;
  readonly fullRetrain: boolean;
  readonly plan: TrainingPlan;
}

export function storedPlan(plan: TrainingPlan, settingsHash: string, fullRetrain: boolean): StoredPlan {
  return { format: 'training-plan', version: 1, settingsHash, fullRetrain, plan };
}

/** A stored plan, or undefined when the text is not one this build wrote (it is then planned again). */
export function parseStoredPlan(text: string, source: string): StoredPlan | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const stored = value as Partial<StoredPlan> | null;
  if (stored?.format !== 'training-plan' || stored.version !== 1 || !Array.isArray(stored.plan?.train)) return undefined;
  const manifestLike = parseManifest({ formatVersion: MANIFEST_FORMAT_VERSION, runId: 'plan', publishedAt: 'plan', endpointName: 'plan', models: stored.plan.unchanged }, `${source} [plan.unchanged]`);
  return { ...(stored as StoredPlan), plan: { ...stored.plan, unchanged: manifestLike.models } };
}
