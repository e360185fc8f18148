import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { appendPathComponent, isValidBucketName, keyProblem, keyToPathComponents } from './key-path.js';

/** The methods of s3rver's FilesystemStore that local mode replaces, and what they rely on. */
interface FilesystemStoreLike {
  rootDirectory: string;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
  putPart(bucket: string, uploadId: string, partNumber: string, content: Readable): Promise<{ md5: string; size: number }>;
  putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ md5: string; size: number }>;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ md5: string; size: number }>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacement?: Record<string, string>): Promise<Record<string, string>>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  putBucket(bucket: string): Promise<unknown>;
  deleteBucket(bucket: string): Promise<void>;
  getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<void>;
  deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<void>;
}
interface StoredObject { bucket: string; key: string; content: Buffer | Readable; metadata: Record<string, string> }
interface ListOptions { delimiter?: string; startAfter?: string; prefix?: string; maxKeys?: number }
interface ListResult { objects: unknown[]; commonPrefixes: string[]; isTruncated: boolean }

const OBJECT_SUFFIX = '._S3rver_object';
/** Where this store keeps an object's MD5 inside its metadata file (s3rver kept it in a third file). */
const STORED_MD5 = 's3rver-md5';
const RESOURCE_SUFFIXES = ['object', 'object.md5', 'metadata.json'];

async function writeBuffer(file: string, content: Buffer): Promise<{ md5: string; size: number }> {
  await fs.writeFile(file, content);
  return { md5: createHash('md5').update(content).digest('hex'), size: content.length };
}

async function writeStream(file: string, content: Readable): Promise<{ md5: string; size: number }> {
  const md5 = createHash('md5');
  let size = 0;
  await pipeline(
    content,
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    }),
    createWriteStream(file),
  );
  return { md5: md5.digest('hex'), size };
}

/** s3rver's error class: thrown from the store, it becomes S3's XML error response. */
export type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

/**
 * Fixes s3rver 3.7 store behaviours that break the pipeline or let a request reach outside the data folder:
 * - s3rver joined raw keys, bucket names and upload ids into file paths, so `..%2F..%2Fx` wrote
 *   outside its folder. Here keys go through {@link keyToPathComponents}, bucket names must be S3's,
 *   upload ids must be the ones s3rver issues and part numbers S3's 1–10000.
 * - `putObject` answered before the file was flushed and wrote in place, so a GET right after a PUT
 *   (or during an overwrite) could read a short file. Here the body goes to a temporary file that is
 *   renamed over the object once complete.
 * - `listObjects` walked directories in `readdir` order, so keys came back unsorted and paging with
 *   `start-after` skipped keys. Here keys are listed in S3's UTF-8 binary order.
 * - Every object request read the bucket's CORS and website configurations from disk (a failed
 *   open each, when there are none). Here a bucket's configurations are kept in memory; this
 *   store is their only writer.
 * - Each object took three files (bytes, `.md5`, metadata); creating a file costs ~0.5 ms of
 *   kernel time here, a third of a small PUT. The MD5 now lives in the metadata file; objects
 *   stored with a `.md5` file by earlier versions are read as before.
 */
export function patchFilesystemStore(
  store: unknown,
  makeObject: (bucket: string, key: string, metadata: Record<string, string>) => unknown,
  S3Error: S3ErrorClass,
  storedMetadata: readonly string[],
): void {
  const s = store as FilesystemStoreLike;

  s.getBucketPath = (bucket: string) => {
    if (!isValidBucketName(bucket)) {
      throw new S3Error('InvalidBucketName', 'The specified bucket is not valid: bucket names are 3 to 63 lowercase letters, digits, dots and hyphens.', { BucketName: bucket });
    }
    return path.join(s.rootDirectory, bucket);
  };

  s.getResourcePath = (bucket: string, key: string | undefined, resource: string) => {
    const bucketPath = s.getBucketPath(bucket);
    // Bucket-level resources (CORS, uploads) have no key.
    if (key === undefined || key === '') return path.join(bucketPath, `._S3rver_${resource}`);
    const problem = keyProblem(key);
    if (problem) throw new S3Error('KeyTooLongError', `Your key is too long: ${problem}.`);
    const components = keyToPathComponents(key);
    const stem = components.pop() ?? '';
    return path.join(bucketPath, ...components, `${stem}._S3rver_${resource}`);
  };

  s.deleteObject = async (bucket: string, key: string) => {
    await Promise.all(RESOURCE_SUFFIXES.map((resource) => fs.rm(s.getResourcePath(bucket, key, resource), { force: true })));
    // Folders the key's components made, deepest first, while they are empty.
    const bucketPath = s.getBucketPath(bucket);
    const components = keyToPathComponents(key).slice(0, -1);
    while (components.length > 0) {
      try {
        await fs.rmdir(path.join(bucketPath, ...components));
      } catch {
        break;
      }
      components.pop();
    }
  };

  const putPart = s.putPart.bind(s);
  s.putPart = (bucket, uploadId, partNumber, content) => {
    checkUploadId(uploadId, S3Error);
    if (!/^[1-9][0-9]{0,4}$/.test(String(partNumber)) || Number(partNumber) > 10_000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(partNumber) });
    }
    return putPart(bucket, uploadId, partNumber, content);
  };
  const putObjectMultipart = s.putObjectMultipart.bind(s);
  s.putObjectMultipart = (bucket, uploadId, parts) => {
    checkUploadId(uploadId, S3Error);
    if (!parts.every((part) => Number.isInteger(part.number) && part.number >= 1 && part.number <= 10_000)) {
      throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found: part numbers are integers from 1 to 10000.');
    }
    return putObjectMultipart(bucket, uploadId, parts);
  };

  const getMetadata = s.getMetadata.bind(s);
  s.getMetadata = async (bucket: string, key: string) => {
    const objectPath = s.getResourcePath(bucket, key, 'object');
    // Throws ENOENT for a missing object, as s3rver's did.
    const stat = await fs.stat(objectPath);
    let stored: Record<string, string> | undefined;
    try {
      stored = JSON.parse(await fs.readFile(s.getResourcePath(bucket, key, 'metadata.json'), 'utf8')) as Record<string, string>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const md5 = stored?.[STORED_MD5];
    if (stored === undefined || md5 === undefined) return getMetadata(bucket, key);
    const { [STORED_MD5]: _md5, ...metadata } = stored;
    return { ...metadata, etag: JSON.stringify(md5), 'last-modified': stat.mtime.toUTCString(), 'content-length': String(stat.size) };
  };

  s.putMetadata = async (bucket: string, key: string, metadata: Record<string, string>, md5: string) => {
    const kept = Object.fromEntries(Object.entries(metadata).filter(([name]) => storedMetadata.includes(name) || name.startsWith('x-amz-meta-')));
    await fs.writeFile(s.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify({ ...kept, [STORED_MD5]: md5 }, null, 2));
  };

  s.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacement) => {
    const source = await s.getMetadata(srcBucket, srcKey);
    const from = s.getResourcePath(srcBucket, srcKey, 'object');
    const to = s.getResourcePath(destBucket, destKey, 'object');
    if (from !== to) {
      await fs.mkdir(path.dirname(to), { recursive: true });
      const partial = `${to}.${randomBytes(6).toString('hex')}.partial`;
      await fs.copyFile(from, partial);
      await fs.rename(partial, to);
    }
    await s.putMetadata(destBucket, destKey, replacement ?? source, JSON.parse(source.etag ?? '""') as string);
    return s.getMetadata(destBucket, destKey);
  };

  s.putObject = async (object: StoredObject) => {
    const objectPath = s.getResourcePath(object.bucket, object.key, 'object');
    await fs.mkdir(path.dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomBytes(6).toString('hex')}.partial`;
    try {
      const { md5, size } = Buffer.isBuffer(object.content) ? await writeBuffer(partial, object.content) : await writeStream(partial, object.content);
      await s.putMetadata(object.bucket, object.key, object.metadata, md5);
      await fs.rename(partial, objectPath);
      return { md5, size };
    } catch (error) {
      await fs.rm(partial, { force: true });
      throw error;
    }
  };

  const bucketConfigs = new Map<string, Promise<unknown>>();
  const configKey = (bucket: string, type: string) => `${bucket}/${type}`;
  const forgetConfigs = (bucket: string) => {
    for (const key of bucketConfigs.keys()) if (key.startsWith(`${bucket}/`)) bucketConfigs.delete(key);
  };
  const getSubresource = s.getSubresource.bind(s);
  s.getSubresource = (bucket, key, type) => {
    if (key !== undefined) return getSubresource(bucket, key, type);
    let config = bucketConfigs.get(configKey(bucket, type));
    if (config === undefined) {
      config = getSubresource(bucket, undefined, type);
      bucketConfigs.set(configKey(bucket, type), config);
      config.catch(() => bucketConfigs.delete(configKey(bucket, type)));
    }
    return config;
  };
  for (const method of ['putSubresource', 'deleteSubresource'] as const) {
    const original = s[method].bind(s) as (bucket: string, key: string | undefined, arg: never) => Promise<void>;
    s[method] = async (bucket: string, key: string | undefined, arg: never) => {
      try {
        await original(bucket, key, arg);
      } finally {
        if (key === undefined) forgetConfigs(bucket);
      }
    };
  }
  for (const method of ['putBucket', 'deleteBucket'] as const) {
    const original = s[method].bind(s) as (bucket: string) => Promise<void>;
    s[method] = async (bucket: string) => {
      try {
        return await original(bucket);
      } finally {
        forgetConfigs(bucket);
      }
    };
  }

  s.listObjects = async (bucket: string, options: ListOptions) => {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const bucketPath = s.getBucketPath(bucket);
    const keys = (await walkKeys(bucketPath, prefix)).sort(compareUtf8);
    const commonPrefixes = new Set<string>();
    const selected: string[] = [];
    let isTruncated = false;
    for (const key of keys) {
      if (compareUtf8(key, startAfter) <= 0 || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const at = key.indexOf(delimiter, prefix.length);
        if (at !== -1) {
          commonPrefixes.add(key.slice(0, at + delimiter.length));
          continue;
        }
      }
      if (selected.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      selected.push(key);
    }
    const objects = await Promise.all(
      selected.map(async (key) => {
        try {
          return makeObject(bucket, key, await s.getMetadata(bucket, key));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw error;
        }
      }),
    );
    return {
      objects: objects.filter((o) => o !== undefined),
      commonPrefixes: [...commonPrefixes].sort(compareUtf8),
      isTruncated,
    };
  };
}

/**
 * The bucket's objects as files, for local SageMaker and the local endpoint, which reach local S3
 * without HTTP (as SageMaker's hosts reach S3 over AWS's own network): the same store the edge
 * serves, so keys, listing order and stored metadata are the edge's. An object's file is always
 * whole (puts are renamed into place), so reading it directly is a consistent GET.
 */
export interface LocalObjects {
  hasBucket(bucket: string): Promise<boolean>;
  /** The file holding the object's bytes (throws s3rver's S3Error for a bad bucket name or key). */
  objectFile(bucket: string, key: string): string;
  /** Every key under `prefix`, in S3's UTF-8 binary order. */
  keys(bucket: string, prefix: string): Promise<string[]>;
  /** PutObject: `content-type` as S3 stores it (binary/octet-stream when not given). */
  put(bucket: string, key: string, content: Buffer | Readable, contentType: string | undefined): Promise<void>;
}

/** {@link LocalObjects} over a store {@link patchFilesystemStore} has patched. */
export function localObjects(store: unknown, makeObject: (bucket: string, key: string, content: Buffer | Readable, metadata: Record<string, string>) => unknown): LocalObjects {
  const s = store as FilesystemStoreLike & { getBucket(bucket: string): Promise<unknown> };
  return {
    hasBucket: async (bucket) => (await s.getBucket(bucket)) !== null,
    objectFile: (bucket, key) => s.getResourcePath(bucket, key, 'object'),
    keys: async (bucket, prefix) => (await walkKeys(s.getBucketPath(bucket), prefix)).filter((key) => key.startsWith(prefix)).sort(compareUtf8),
    put: async (bucket, key, content, contentType) => {
      await s.putObject(makeObject(bucket, key, content, contentType === undefined ? {} : { 'content-type': contentType }) as StoredObject);
    },
  };
}

/** s3rver issues upload ids as 32 hex digits; anything else is not one of its uploads. */
function checkUploadId(uploadId: unknown, S3Error: S3ErrorClass): void {
  if (typeof uploadId !== 'string' || !/^[0-9a-f]{32}$/.test(uploadId)) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: String(uploadId) });
  }
}

/** Every object key in a bucket folder that can start with `prefix`. */
async function walkKeys(bucketPath: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  const visit = async (dir: string, keyPrefix: string | undefined): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await Promise.all(
      entries.map(async (entry) => {
        if (entry.isDirectory()) {
          // A folder's text may end mid-segment (a long segment's first piece): prune on either order.
          const sub = appendPathComponent(keyPrefix, entry.name);
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) await visit(path.join(dir, entry.name), sub);
        } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
          keys.push(appendPathComponent(keyPrefix, entry.name.slice(0, -OBJECT_SUFFIX.length)));
        }
      }),
    );
  };
  await visit(bucketPath, undefined);
  return keys;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
