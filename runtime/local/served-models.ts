import type { S3Client } from '@aws-sdk/client-s3';
import { CURRENT_MANIFEST_KEY, parseManifest } from '../pipeline/manifest.js';
import type { Manifest } from '../pipeline/manifest.js';
import { readTextIfExists } from '../pipeline/s3-objects.js';

/**
 * What a restart of `npm start` does with the models already published: serve them at once. The
 * pipeline runs before serving only when nothing is served yet or when `--retrain` asks for it;
 * otherwise the next run is the nightly schedule's.
 */

export type StartupPlan =
  | { readonly train: false; readonly manifest: Manifest }
  | { readonly train: true; readonly reason: 'no-models' | 'retrain' };

export function planStartup(current: Manifest | undefined, retrain: boolean): StartupPlan {
  if (retrain) return { train: true, reason: 'retrain' };
  return current ? { train: false, manifest: current } : { train: true, reason: 'no-models' };
}

/** The published manifest, or undefined when no run has published one. */
export async function readServedManifest(s3: S3Client, bucket: string): Promise<Manifest | undefined> {
  const text = await readTextIfExists(s3, bucket, CURRENT_MANIFEST_KEY);
  return text === undefined ? undefined : parseManifest(text, `s3://${bucket}/${CURRENT_MANIFEST_KEY}`);
}
