import fs from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { isNotFound, type InternalS3 } from '../s3/internal-client.js';
import { distributeKeys, relativeKey, type DistributionType } from './data-distribution.js';
import { parseS3Uri, type S3Location } from './validation.js';

/** What every job run needs from the server. */
export interface JobContext {
  s3: InternalS3;
  jobsDir: string;
  region: string;
  accountId: string;
  log: (line: string) => void;
  /** Between SIGTERM and SIGKILL when a job is stopped (AWS: 120 s for training). */
  stopGraceMs: number;
  /** How often each instance's checkpoint folder is scanned for new files. */
  checkpointIntervalMs: number;
}

export const epochSeconds = (date = new Date()) => date.getTime() / 1000;

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Downloads an S3 prefix to every host's folder with the given distribution; returns how many
 * objects each host got. `destination(host)` is the folder of that host's copy.
 */
export async function downloadInput(
  s3: InternalS3,
  source: S3Location,
  distribution: DistributionType,
  hosts: readonly string[],
  destination: (host: string) => string,
): Promise<Map<string, number>> {
  const keys = (
    await s3.listKeys(source.bucket, source.key).catch((error: unknown) => {
      if (isNotFound(error)) throw new Error(`ClientError: cannot read s3://${source.bucket}/${source.key}: the bucket does not exist`);
      throw error;
    })
  ).filter((key) => !key.endsWith('/'));
  if (keys.length === 0) throw new Error(`ClientError: no S3 objects found under s3://${source.bucket}/${source.key}`);
  const shards = distributeKeys(keys, hosts, distribution);
  const work = [...shards].flatMap(([host, hostKeys]) => hostKeys.map((key) => ({ host, key })));
  await mapLimit(work, 16, ({ host, key }) => s3.download(source.bucket, key, fileForKey(destination(host), relativeKey(source.key, key), `s3://${source.bucket}/${key}`)));
  return new Map([...shards].map(([host, hostKeys]) => [host, hostKeys.length]));
}

/**
 * The file an S3 object is downloaded to under `dir`. A key whose segments would lead elsewhere
 * (`..`, empty, `.`) fails the job with a ClientError naming the object, rather than write outside
 * the instance's folder.
 */
export function fileForKey(dir: string, relative: string, object: string): string {
  const segments = relative.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) {
    throw new Error(`ClientError: cannot download ${object}: its key has an empty, "." or ".." path segment, which has no file under the input folder`);
  }
  return path.join(dir, ...segments);
}

/**
 * The objects a ManifestFile data source names: SageMaker's format is a JSON array whose first
 * element is `{"prefix": "s3://bucket/prefix/"}` and whose other elements are suffixes appended to
 * it. Each object lands under the channel at its suffix. Every problem is a ClientError naming the
 * manifest, as SageMaker fails the job.
 */
export async function readManifestFile(s3: InternalS3, manifest: S3Location): Promise<{ bucket: string; objects: { key: string; relative: string }[] }> {
  const where = `the manifest file s3://${manifest.bucket}/${manifest.key}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(await s3.getBytes(manifest.bucket, manifest.key)).toString('utf8'));
  } catch (error) {
    if (isNotFound(error)) throw new Error(`ClientError: ${where} does not exist`);
    throw new Error(`ClientError: ${where} is not valid JSON: ${(error as Error).message}`);
  }
  const [head, ...suffixes] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
  const prefix = typeof head === 'object' && head !== null ? (head as { prefix?: unknown }).prefix : undefined;
  const location = typeof prefix === 'string' ? parseS3Uri(prefix) : undefined;
  if (location === undefined || location.bucket === '') {
    throw new Error(`ClientError: ${where} must be a JSON array starting with {"prefix": "s3://bucket/prefix/"}`);
  }
  const objects = suffixes.map((suffix, i) => {
    if (typeof suffix !== 'string' || suffix === '') {
      throw new Error(`ClientError: ${where} element ${i + 2} is ${JSON.stringify(suffix)}; expected a key suffix`);
    }
    return { key: `${location.key}${suffix}`, relative: suffix };
  });
  if (objects.length === 0) throw new Error(`ClientError: ${where} lists no object`);
  return { bucket: location.bucket, objects };
}

/**
 * Downloads the objects a manifest file lists to every host's folder with the given distribution
 * (ShardedByS3Key deals the listed objects as it deals a prefix's); returns each host's count.
 */
export async function downloadManifestInput(
  s3: InternalS3,
  manifest: S3Location,
  distribution: DistributionType,
  hosts: readonly string[],
  destination: (host: string) => string,
): Promise<Map<string, number>> {
  const { bucket, objects } = await readManifestFile(s3, manifest);
  const relativeOf = new Map(objects.map((object) => [object.key, object.relative]));
  const shards = distributeKeys([...relativeOf.keys()], hosts, distribution);
  const work = [...shards].flatMap(([host, hostKeys]) => hostKeys.map((key) => ({ host, key })));
  await mapLimit(work, 16, async ({ host, key }) => {
    try {
      await s3.download(bucket, key, fileForKey(destination(host), relativeOf.get(key)!, `s3://${bucket}/${key}`));
    } catch (error) {
      if (isNotFound(error)) throw new Error(`ClientError: s3://${bucket}/${key}, listed in s3://${manifest.bucket}/${manifest.key}, does not exist`);
      throw error;
    }
  });
  return new Map([...shards].map(([host, hostKeys]) => [host, hostKeys.length]));
}

/** Every regular file under `dir`, as paths relative to it with `/` separators. */
export async function listFiles(dir: string, skip: (name: string) => boolean = () => false): Promise<string[]> {
  const files: string[] = [];
  const visit = async (sub: string) => {
    let entries;
    try {
      entries = await fs.readdir(path.join(dir, sub), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (skip(entry.name)) continue;
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await visit(rel);
      else if (entry.isFile()) files.push(rel);
    }
  };
  await visit('');
  return files;
}

/** Joins an S3 prefix and a relative path the way SageMaker appends files to an S3Uri. */
export function joinKey(prefix: string, rel: string): string {
  return prefix === '' || prefix.endsWith('/') ? `${prefix}${rel}` : `${prefix}/${rel}`;
}

/** Uploads every file under `dir` to `target` + relative path; returns the count. */
export async function uploadFolder(s3: InternalS3, dir: string, target: S3Location): Promise<number> {
  const files = await listFiles(dir);
  await mapLimit(files, 16, (rel) => s3.upload(target.bucket, joinKey(target.key, rel), path.join(dir, ...rel.split('/'))));
  return files.length;
}

/** A gzipped tar of a folder's contents (SageMaker's model.tar.gz / output.tar.gz). */
export async function tarFolder(dir: string, file: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const entries = await fs.readdir(dir);
  await tar.c({ gzip: true, file, cwd: dir, portable: true }, entries.length > 0 ? entries : ['.']);
}

/** The first `max` characters of a file, or undefined when it is missing or empty. */
export async function readHead(file: string, max: number): Promise<string | undefined> {
  try {
    const text = (await fs.readFile(file, 'utf8')).slice(0, max);
    return text.trim() === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
