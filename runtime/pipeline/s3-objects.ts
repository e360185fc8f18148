import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';

/** The few S3 operations the pipeline needs, over an injected client. */

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return (await listObjects(s3, bucket, prefix)).map((object) => object.key);
}

/** Every object under the prefix with its size, in key order. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const objects: { key: string; size: number }[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0 });
  }
  return objects;
}

/** The folders directly under `prefix` (S3's common prefixes for the `/` delimiter), each ending in `/`. */
export async function listFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const folders: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix, Delimiter: '/' })) {
    for (const common of page.CommonPrefixes ?? []) if (common.Prefix !== undefined) folders.push(common.Prefix);
  }
  return folders;
}

/** S3 deletes at most 1000 keys a request. */
const DELETE_BATCH = 1000;

/** Deletes the keys (in a versioned bucket: adds delete markers); throws naming the keys S3 refused. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[], onProgress?: (deleted: number) => void): Promise<void> {
  let deleted = 0;
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    const response = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    const errors = response.Errors ?? [];
    if (errors.length > 0) {
      const first = errors.slice(0, 3).map((e) => `${e.Key}: ${e.Code} ${e.Message}`).join('; ');
      throw new Error(`S3 refused to delete ${errors.length} of ${batch.length} objects in s3://${bucket} (${first}); ${deleted} were deleted before`);
    }
    deleted += batch.length;
    onProgress?.(deleted);
  }
}

/**
 * The object's text, or undefined when there is no such key.
 *
 * S3 answers a GetObject of a missing key with 403 AccessDenied, not 404, unless the caller may
 * `s3:ListBucket` on the bucket, and a grant conditioned on `s3:prefix` does not count (GetObject
 * carries no prefix). Rather than widen the role to list the whole bucket, a 403 is settled by the
 * listing the role is allowed: the key itself as prefix. Absent: undefined; present: the denial
 * stands, so a real permission problem is never mistaken for a first night.
 */
export async function readTextIfExists(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body?.transformToString('utf8');
  } catch (error) {
    if (isNoSuchKey(error)) return undefined;
    if (isAccessDenied(error) && !(await keyExists(s3, bucket, key))) return undefined;
    throw error;
  }
}

/** Whether the key exists, from a listing of the key itself (S3 lists a key before any key it prefixes). */
async function keyExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return page.Contents?.[0]?.Key === key;
}

export async function writeJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(value, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}

/** The object's bytes, in memory: for objects known to be small (model archives). */
export async function readBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return response.Body.transformToByteArray();
}

export async function downloadToFile(s3: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  await pipeline(response.Body as Readable, createWriteStream(file));
}

function isAccessDenied(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return name === 'AccessDenied' || status === 403;
}

function isNoSuchKey(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}
