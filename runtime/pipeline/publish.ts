import type { S3Client } from '@aws-sdk/client-s3';
import {
  CURRENT_MANIFEST_KEY,
  historyManifestKey,
  mergeManifest,
  parseManifest,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
import { readTextIfExists, writeJson } from './s3-objects.js';

/**
 * Publishes a validated run: `manifests/history/<runId>.json` first, then `manifests/current.json`.
 * Idempotent: a rerun finds the run's history manifest and only finishes what is missing, and a run
 * never replaces a current manifest published by a later run.
 */

export type PublishOutcome =
  /** Both manifests written by this invocation. */
  | 'published'
  /** The history manifest existed (an earlier invocation stopped before flipping current): current written. */
  | 'completed'
  /** Both already done by an earlier invocation. */
  | 'already-published'
  /** A later run already owns `current.json`: only the history was written. */
  | 'superseded';

export interface PublishResult {
  readonly outcome: PublishOutcome;
  readonly manifest: Manifest;
  /** Customers whose entry stayed on an older run's model. */
  readonly keptPrevious: readonly string[];
}

export async function publishManifest(args: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly runId: string;
  readonly endpointName: string;
  readonly fresh: Readonly<Record<string, ManifestEntry>>;
  /** Customers who left: their entries are not carried over. */
  readonly remove?: readonly string[];
  readonly now: () => Date;
}): Promise<PublishResult> {
  const { s3, bucket, runId } = args;
  const historyKey = historyManifestKey(runId);
  const currentText = await readTextIfExists(s3, bucket, CURRENT_MANIFEST_KEY);
  const current = currentText === undefined ? undefined : parseManifest(currentText, `s3://${bucket}/${CURRENT_MANIFEST_KEY}`);
  const historyText = await readTextIfExists(s3, bucket, historyKey);

  let manifest: Manifest;
  let wroteHistory = false;
  if (historyText !== undefined) {
    manifest = parseManifest(historyText, `s3://${bucket}/${historyKey}`);
  } else {
    manifest = mergeManifest({
      // When a rerun's earlier invocation is current, merging onto it gives the same entries back.
      previous: current,
      runId,
      publishedAt: args.now().toISOString(),
      endpointName: args.endpointName,
      fresh: args.fresh,
      ...(args.remove === undefined ? {} : { remove: args.remove }),
    });
    await writeJson(s3, bucket, historyKey, manifest);
    wroteHistory = true;
  }
  const keptPrevious = Object.entries(manifest.models)
    .filter(([, entry]) => entry.runId !== runId)
    .map(([customerId]) => customerId);

  // Run ids sort in time order: a later run's manifest is never rolled back.
  if (current !== undefined && current.runId > runId) return { outcome: 'superseded', manifest, keptPrevious };
  if (current !== undefined && current.runId === runId && current.publishedAt === manifest.publishedAt) {
    return { outcome: 'already-published', manifest, keptPrevious };
  }
  await writeJson(s3, bucket, CURRENT_MANIFEST_KEY, manifest);
  return { outcome: wroteHistory ? 'published' : 'completed', manifest, keptPrevious };
}
