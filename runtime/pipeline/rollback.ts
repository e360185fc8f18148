import { HeadObjectCommand, PutObjectCommand, DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CUSTOMER_ID_PATTERN } from '../../containers/shared/model-artifact.js';
import { MODELS_PREFIX, reportKey } from './bucket-layout.js';
import { forEachWithConcurrency } from './endpoint-invoke.js';
import {
  CURRENT_MANIFEST_KEY,
  historyManifestKey,
  MANIFEST_HISTORY_PREFIX,
  parseManifest,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
import type { RunReport } from './report.js';
import { listKeys, readTextIfExists } from './s3-objects.js';
import { warmModels } from './warm.js';

/**
 * Rollback (DESIGN.md, "Publishing rule"): `current.json` goes back to an earlier night's history
 * manifest, whole or for one customer. The new manifest is a history entry of its own,
 * `<night>-rollback-<time>`, which sorts after the night it replaced: a late rerun of that night
 * cannot undo the rollback, and the next night merges onto it. Nothing is switched unless every
 * model it references exists and loads on the endpoint, and `current.json` is still what was read.
 */

export type RollbackTarget =
  | { readonly kind: 'run'; readonly toRunId: string }
  | { readonly kind: 'previous' }
  | { readonly kind: 'customer'; readonly customerId: string; readonly toRunId: string };

export class RollbackError extends Error {
  override readonly name = 'RollbackError';
  constructor(
    readonly code: 'E_ROLLBACK_UNKNOWN_RUN' | 'E_ROLLBACK_NO_PREVIOUS' | 'E_ROLLBACK_UNKNOWN_CUSTOMER' | 'E_ROLLBACK_NO_CURRENT' | 'E_ROLLBACK_MISSING_OBJECTS' | 'E_ROLLBACK_WARM_FAILED' | 'E_ROLLBACK_CONFLICT' | 'E_ROLLBACK_INPUT',
    message: string,
  ) {
    super(message);
  }
}

export type RollbackEvent =
  | { readonly type: 'planned'; readonly fromRunId: string; readonly toRunId: string; readonly changed: number }
  | { readonly type: 'checked'; readonly objects: number }
  | { readonly type: 'warmed'; readonly models: number; readonly seconds: number };

export interface RollbackResult {
  readonly manifest: Manifest;
  /** Customers whose model changed. */
  readonly changed: number;
  readonly checkedObjects: number;
  readonly warm: { readonly models: number; readonly seconds: number };
  readonly seconds: number;
}

/** A night's run id (`yyyyMMdd-HHmm`), the only thing a rollback goes back to. */
const NIGHT_RUN_ID = /^\d{8}-\d{4}$/;
const ROLLBACK_SUFFIX = '-rollback-';
const HEAD_CONCURRENCY = 16;

export async function rollback(options: {
  readonly s3: S3Client;
  readonly runtime: SageMakerRuntimeClient;
  readonly bucket: string;
  readonly target: RollbackTarget;
  /** Models loaded on the endpoint before the switch (of those that change). */
  readonly warmModels: number;
  readonly now?: () => Date;
  /** Progress; awaited, so a caller may pause the rollback between its steps. */
  readonly onEvent?: (event: RollbackEvent) => void | Promise<void>;
}): Promise<RollbackResult> {
  const { s3, bucket, target } = options;
  const started = performance.now();
  const now = options.now ?? (() => new Date());
  const emit = options.onEvent ?? (() => {});
  const read = await readCurrent(s3, bucket);
  if (read === undefined) throw new RollbackError('E_ROLLBACK_NO_CURRENT', `s3://${bucket}/${CURRENT_MANIFEST_KEY} does not exist: nothing is published, so there is nothing to roll back`);
  const { manifest: current, etag } = read;

  const toRunId = target.kind === 'previous' ? await previousNight(s3, bucket, current) : checkedNight(target.toRunId);
  const toText = await readTextIfExists(s3, bucket, historyManifestKey(toRunId));
  if (toText === undefined) {
    const nights = (await historyRunIds(s3, bucket)).filter((id) => NIGHT_RUN_ID.test(id));
    throw new RollbackError('E_ROLLBACK_UNKNOWN_RUN', `run ${toRunId} has no history manifest at s3://${bucket}/${historyManifestKey(toRunId)}; published nights: ${nights.join(', ') || 'none'}`);
  }
  const to = parseManifest(toText, `s3://${bucket}/${historyManifestKey(toRunId)}`);
  const at = now();
  const manifest = planRollback(current, to, target.kind === 'customer' ? target.customerId : undefined, at);
  const changed = Object.entries(manifest.models).filter(([id, entry]) => current.models[id]?.targetModel !== entry.targetModel);
  await emit({ type: 'planned', fromRunId: current.runId, toRunId, changed: changed.length });

  const missing: string[] = [];
  const entries = Object.values(manifest.models);
  await forEachWithConcurrency(entries, HEAD_CONCURRENCY, async (entry) => {
    if (!(await objectExists(s3, bucket, `${MODELS_PREFIX}${entry.targetModel}`))) missing.push(`s3://${bucket}/${MODELS_PREFIX}${entry.targetModel}`);
  });
  if (missing.length > 0) {
    missing.sort();
    throw new RollbackError(
      'E_ROLLBACK_MISSING_OBJECTS',
      `${missing.length} model object(s) the rollback to ${toRunId} would serve do not exist (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); nothing was switched`,
    );
  }
  await emit({ type: 'checked', objects: entries.length });

  const warm = await warmModels({
    runtime: options.runtime,
    endpointName: manifest.endpointName,
    targetModels: changed.slice(0, options.warmModels).map(([, entry]) => entry.targetModel),
  });
  if (warm.failures.length > 0) {
    const first = warm.failures[0]!;
    throw new RollbackError(
      'E_ROLLBACK_WARM_FAILED',
      `${warm.failures.length} model(s) did not load on endpoint ${manifest.endpointName} (first: ${first.targetModel}: ${first.reason}); nothing was switched`,
    );
  }
  await emit({ type: 'warmed', models: warm.models, seconds: warm.seconds });

  // Re-read and compare just before writing (the put below is also conditional on AWS): a night
  // published meanwhile is never overwritten.
  const again = await readCurrent(s3, bucket);
  if (again?.etag !== etag) {
    throw new RollbackError(
      'E_ROLLBACK_CONFLICT',
      `s3://${bucket}/${CURRENT_MANIFEST_KEY} changed during the rollback (it was run ${current.runId}, it is now run ${again?.manifest.runId ?? '(deleted)'}); nothing was switched: check it and run the rollback again`,
    );
  }
  const body = `${JSON.stringify(manifest, null, 2)}\n`;
  const historyKey = historyManifestKey(manifest.runId);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: historyKey, Body: body, ContentType: 'application/json' }));
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: CURRENT_MANIFEST_KEY, Body: body, ContentType: 'application/json', IfMatch: etag }));
  } catch (error) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: historyKey })).catch(() => {});
    if ((error as { name?: string }).name === 'PreconditionFailed') {
      throw new RollbackError('E_ROLLBACK_CONFLICT', `s3://${bucket}/${CURRENT_MANIFEST_KEY} changed during the rollback; nothing was switched: check it and run the rollback again`);
    }
    throw error;
  }
  return { manifest, changed: changed.length, checkedObjects: entries.length, warm: { models: warm.models, seconds: warm.seconds }, seconds: Math.round(performance.now() - started) / 1000 };
}

/** The manifest a rollback writes: the target night's (whole, or one customer's entry over the current one). */
export function planRollback(current: Manifest, to: Manifest, customerId: string | undefined, at: Date): Manifest {
  let models: Record<string, ManifestEntry>;
  if (customerId === undefined) {
    models = { ...to.models };
  } else {
    const entry = to.models[customerId];
    if (entry === undefined) throw new RollbackError('E_ROLLBACK_UNKNOWN_CUSTOMER', `customer ${customerId} is not in run ${to.runId}'s manifest; nothing to roll back to`);
    models = { ...current.models, [customerId]: entry };
  }
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return {
    formatVersion: current.formatVersion,
    runId: `${nightOf(current.runId)}${ROLLBACK_SUFFIX}${stamp}`,
    publishedAt: at.toISOString(),
    endpointName: current.endpointName,
    models,
    rollback: {
      fromRunId: current.runId,
      toRunId: to.runId,
      ...(customerId === undefined ? {} : { customerId }),
      baseRunId: customerId === undefined ? to.runId : servedNight(current),
    },
  };
}

/** The night whose manifest `manifest` mostly serves. */
export function servedNight(manifest: Manifest): string {
  return manifest.rollback?.baseRunId ?? manifest.runId;
}

function nightOf(runId: string): string {
  const at = runId.indexOf(ROLLBACK_SUFFIX);
  return at < 0 ? runId : runId.slice(0, at);
}

function checkedNight(runId: string): string {
  if (!NIGHT_RUN_ID.test(runId)) throw new RollbackError('E_ROLLBACK_INPUT', `run id ${JSON.stringify(runId)} is not a night's run id; expected yyyyMMdd-HHmm such as 20261126-0200 (see --list)`);
  return runId;
}

export function checkedCustomerId(customerId: string): string {
  if (!CUSTOMER_ID_PATTERN.test(customerId)) throw new RollbackError('E_ROLLBACK_INPUT', `customer id ${JSON.stringify(customerId)} is not valid; expected letters, digits, _ and - (at most 128)`);
  return customerId;
}

async function previousNight(s3: S3Client, bucket: string, current: Manifest): Promise<string> {
  const served = servedNight(current);
  const earlier = (await historyRunIds(s3, bucket)).filter((id) => NIGHT_RUN_ID.test(id) && id < served);
  const previous = earlier.at(-1);
  if (previous === undefined) throw new RollbackError('E_ROLLBACK_NO_PREVIOUS', `no night was published before ${served}, the one current.json serves; nothing to roll back to`);
  return previous;
}

/** Run ids of the history manifests, in time order. */
export async function historyRunIds(s3: S3Client, bucket: string): Promise<string[]> {
  return (await listKeys(s3, bucket, MANIFEST_HISTORY_PREFIX))
    .filter((key) => key.endsWith('.json') && !key.slice(MANIFEST_HISTORY_PREFIX.length).includes('/'))
    .map((key) => key.slice(MANIFEST_HISTORY_PREFIX.length, -'.json'.length))
    .sort();
}

export interface HistoryLine {
  readonly runId: string;
  readonly publishedAt: string;
  readonly customers: number;
  /** Rejected customers of that night's run (from its report); undefined for a rollback or without a report. */
  readonly rejected: number | undefined;
  /** Median holdout MAE over the manifest's models. */
  readonly medianMae: number | undefined;
  readonly rollback?: Manifest['rollback'];
  readonly current: boolean;
}

/** The history, oldest first, for `--list`. */
export async function listHistory(s3: S3Client, bucket: string): Promise<HistoryLine[]> {
  const currentRunId = (await readCurrent(s3, bucket))?.manifest.runId;
  const lines: HistoryLine[] = [];
  for (const runId of await historyRunIds(s3, bucket)) {
    const manifest = parseManifest((await readTextIfExists(s3, bucket, historyManifestKey(runId))) ?? '', `s3://${bucket}/${historyManifestKey(runId)}`);
    const reportText = manifest.rollback === undefined ? await readTextIfExists(s3, bucket, reportKey(runId)) : undefined;
    const report = reportText === undefined ? undefined : (JSON.parse(reportText) as RunReport);
    const maes = Object.values(manifest.models)
      .map((entry) => entry.metrics.mae)
      .filter((mae): mae is number => typeof mae === 'number')
      .sort((a, b) => a - b);
    lines.push({
      runId,
      publishedAt: manifest.publishedAt,
      customers: Object.keys(manifest.models).length,
      rejected: report?.decisions?.rejected,
      medianMae: maes.length > 0 ? maes[Math.floor(maes.length / 2)] : undefined,
      ...(manifest.rollback ? { rollback: manifest.rollback } : {}),
      current: runId === currentRunId,
    });
  }
  return lines;
}

async function readCurrent(s3: S3Client, bucket: string): Promise<{ manifest: Manifest; etag: string | undefined } | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: CURRENT_MANIFEST_KEY }));
    const text = (await response.Body?.transformToString('utf8')) ?? '';
    return { manifest: parseManifest(text, `s3://${bucket}/${CURRENT_MANIFEST_KEY}`), etag: response.ETag };
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw error;
  }
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as { name?: string }).name === 'NotFound' || status === 404) return false;
    throw error;
  }
}
