import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The two methods of s3rver's FilesystemStore that local mode replaces, and what they rely on. */
interface FilesystemStoreLike {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ md5: string; size: number }>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
}
interface StoredObject { bucket: string; key: string; content: Buffer | Readable; metadata: Record<string, string> }
interface ListOptions { delimiter?: string; startAfter?: string; prefix?: string; maxKeys?: number }
interface ListResult { objects: unknown[]; commonPrefixes: string[]; isTruncated: boolean }

const OBJECT_SUFFIX = '._S3rver_object';

/**
 * Fixes two s3rver 3.7 store behaviours that break the pipeline:
 * - `putObject` answered before the file was flushed and wrote in place, so a GET right after a PUT
 *   (or during an overwrite) could read a short file. Here the body goes to a temporary file that is
 *   renamed over the object once complete.
 * - `listObjects` walked directories in `readdir` order, so keys came back unsorted and paging with
 *   `start-after` skipped keys. Here keys are listed in S3's UTF-8 binary order.
 */
export function patchFilesystemStore(store: unknown, makeObject: (bucket: string, key: string, metadata: Record<string, string>) => unknown): void {
  const s = store as FilesystemStoreLike;

  s.putObject = async (object: StoredObject) => {
    const objectPath = s.getResourcePath(object.bucket, object.key, 'object');
    await fs.mkdir(path.dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomBytes(6).toString('hex')}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    try {
      const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(partial),
      );
      const digest = md5.digest('hex');
      await s.putMetadata(object.bucket, object.key, object.metadata, digest);
      await fs.rename(partial, objectPath);
      return { md5: digest, size };
    } catch (error) {
      await fs.rm(partial, { force: true });
      throw error;
    }
  };

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

/** Every object key in a bucket folder that can start with `prefix`. */
async function walkKeys(bucketPath: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  const visit = async (dir: string, keyPrefix: string): Promise<void> => {
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
          const sub = `${keyPrefix}${entry.name}/`;
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) await visit(path.join(dir, entry.name), sub);
        } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
          keys.push(keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length));
        }
      }),
    );
  };
  await visit(bucketPath, '');
  return keys;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
