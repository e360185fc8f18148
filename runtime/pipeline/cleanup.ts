import type { S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';
import pMap from 'p-map';
import { MODELS_PREFIX, RUNS_PREFIX } from './bucket-layout.js';
import { CURRENT_MANIFEST_KEY, MANIFEST_HISTORY_PREFIX, historyManifestKey, parseManifest, type Manifest } from './manifest.js';
import { decideRetention, locate, summarizeRetention, type RetentionDecision, type RetentionSummary, type StoredObject } from './retention.js';
import { deriveRunId } from './run-id.js';
import { deleteKeys, listFolders, listObjects, readTextIfExists } from './s3-objects.js';

/**
 * Cleanup: reads the model versions and run data of the runs before the cutoff, and the manifests,
 * decides what is past the retention and referenced by no kept manifest (retention.ts), and deletes
 * it unless it is a dry run. The pipeline runs it as its last step; `npm run cleanup` runs it alone.
 */

export interface CleanupResult {
  readonly dryRun: boolean;
  readonly decision: RetentionDecision;
  readonly summary: RetentionSummary;
}

/** The run id `retentionDays` before `now` in the schedule's time zone: runs with smaller ids are past the retention. */
export function retentionCutoffRunId(now: DateTime, retentionDays: number, timeZone: string): string {
  return deriveRunId(now.minus({ days: retentionDays }), timeZone);
}

export async function cleanUpBucket(args: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly retentionDays: number;
  readonly cutoffRunId: string;
  readonly dryRun: boolean;
  readonly onProgress?: (line: string) => void;
}): Promise<CleanupResult> {
  const { s3, bucket, cutoffRunId } = args;
  const objects = (
    await Promise.all([
      listRunFoldersBefore(s3, bucket, MODELS_PREFIX, cutoffRunId),
      listRunFoldersBefore(s3, bucket, RUNS_PREFIX, cutoffRunId),
      listObjects(s3, bucket, MANIFEST_HISTORY_PREFIX),
    ])
  ).flat();
  const currentText = await readTextIfExists(s3, bucket, CURRENT_MANIFEST_KEY);
  const current = currentText === undefined ? undefined : parseManifest(currentText, `s3://${bucket}/${CURRENT_MANIFEST_KEY}`);
  // A kept manifest that cannot be read stops the cleanup: what it references is unknown.
  const keptHistory: Manifest[] = [];
  for (const object of objects) {
    const located = locate(object.key);
    if (located?.kind !== 'history-manifest' || located.runId < cutoffRunId) continue;
    const key = historyManifestKey(located.runId);
    const text = await readTextIfExists(s3, bucket, key);
    if (text !== undefined) keptHistory.push(parseManifest(text, `s3://${bucket}/${key} (kept within the retention; nothing was deleted)`));
  }
  const decision = decideRetention({ objects, current, keptHistory, cutoffRunId, retentionDays: args.retentionDays });
  const summary = summarizeRetention(decision, args.retentionDays);
  if (!args.dryRun && decision.remove.length > 0) {
    await deleteKeys(
      s3,
      bucket,
      decision.remove.map((item) => item.key),
      (deleted) => args.onProgress?.(`cleanup: ${deleted}/${decision.remove.length} objects deleted`),
    );
  }
  return { dryRun: args.dryRun, decision, summary };
}

/**
 * The objects of the run folders under `prefix` (`<prefix><runId>/…`) whose run is before the
 * cutoff: only they can be past the retention. The nights within it, most of a bucket, are never
 * listed, so a night's cleanup reads what ages out and what old manifests keep, not every model.
 */
async function listRunFoldersBefore(s3: S3Client, bucket: string, prefix: string, cutoffRunId: string): Promise<StoredObject[]> {
  const old = (await listFolders(s3, bucket, prefix)).filter((folder) => folder.slice(prefix.length, -1) < cutoffRunId);
  return (await pMap(old, (folder) => listObjects(s3, bucket, folder), { concurrency: FOLDER_LISTINGS_AT_ONCE })).flat();
}

const FOLDER_LISTINGS_AT_ONCE = 8;

/** One line per run and kind for people: what goes or stays, and why. */
export function describeCleanup(result: CleanupResult): string[] {
  const verb = result.dryRun ? 'would delete' : 'deleted';
  const groups = new Map<string, { count: number; bytes: number }>();
  const add = (label: string, size: number) => {
    const group = groups.get(label) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += size;
    groups.set(label, group);
  };
  for (const item of result.decision.remove) add(`${verb} ${item.kind} of run ${item.runId}: ${item.reason}`, item.size);
  for (const item of result.decision.keep) add(`keep ${item.kind} of run ${item.runId}: ${item.reason}`, item.size);
  const { removed, kept } = result.summary;
  return [
    ...[...groups].map(([label, { count, bytes }]) => `${label} (${count} object${count === 1 ? '' : 's'}, ${bytes} bytes)`),
    `cleanup: ${verb} ${removed.objects} objects (${removed.bytes} bytes) older than ${result.summary.retentionDays} days (runs before ${result.summary.cutoffRunId}); kept ${kept.objects} older objects a kept manifest still needs`,
  ];
}
