import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RequestRecorder } from '../request-recorder.js';
import type { LocalObjects } from './filesystem-store.js';
import { INTERNAL_ACCESS_KEY_ID } from './s3-service.js';

/**
 * How local SageMaker (jobs, checkpoints, the endpoint's model downloads) reaches local S3: straight
 * to the store the edge serves, without HTTP, as SageMaker's hosts reach S3 over AWS's own network.
 * Through the SDK and the edge each small object cost ~6–9 ms of this process's CPU (signing,
 * HTTP, s3rver's middleware), which made a night of 1,000 customers spend most of its time moving
 * files to itself. Keys, listing order, metadata and the not-found errors are S3's; each call is
 * still told to the edge's request recorder as the request SageMaker's role would make.
 */
export class InternalS3 {
  constructor(
    private readonly objects: LocalObjects,
    private readonly onRequest?: RequestRecorder,
  ) {}

  /** Every key under `prefix`, in S3's order. */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    this.#record('GET', `/${encodeURIComponent(bucket)}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
    await this.#requireBucket(bucket);
    return this.objects.keys(bucket, prefix);
  }

  async download(bucket: string, key: string, file: string): Promise<void> {
    this.#record('GET', objectUrl(bucket, key));
    const source = this.objects.objectFile(bucket, key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.partial`;
    try {
      // A copy, never a link: the instance may change its input files, the object must not change.
      await fs.copyFile(source, partial, constants.COPYFILE_FICLONE);
    } catch (error) {
      throw await this.#notFoundOr(error, bucket, key);
    }
    await fs.rename(partial, file);
  }

  async getBytes(bucket: string, key: string): Promise<Uint8Array> {
    this.#record('GET', objectUrl(bucket, key));
    try {
      return await fs.readFile(this.objects.objectFile(bucket, key));
    } catch (error) {
      throw await this.#notFoundOr(error, bucket, key);
    }
  }

  async upload(bucket: string, key: string, file: string, contentType?: string): Promise<void> {
    this.#record('PUT', objectUrl(bucket, key));
    await this.#requireBucket(bucket);
    const handle = await fs.open(file);
    try {
      const { size } = await handle.stat();
      const content = size <= WHOLE_READ_BYTES ? await handle.readFile() : handle.createReadStream({ autoClose: false });
      await this.objects.put(bucket, key, content, contentType);
    } finally {
      await handle.close();
    }
  }

  #record(method: string, url: string): void {
    this.onRequest?.({ service: 's3', accessKeyId: INTERNAL_ACCESS_KEY_ID, method, url, copySource: undefined });
  }

  async #requireBucket(bucket: string): Promise<void> {
    if (!(await this.objects.hasBucket(bucket))) throw new LocalS3Error('NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
  }

  /** A missing file is S3's NoSuchBucket or NoSuchKey; any other error stays as it is. */
  async #notFoundOr(error: unknown, bucket: string, key: string): Promise<unknown> {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
    if (!(await this.objects.hasBucket(bucket))) return new LocalS3Error('NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
    return new LocalS3Error('NoSuchKey', `The specified key does not exist: s3://${bucket}/${key}`);
  }
}

/** Files up to this size are read whole (one write, no stream); larger ones are streamed. */
const WHOLE_READ_BYTES = 8 * 1024 * 1024;

/** An S3 error by S3's name, as the SDK would raise it. */
class LocalS3Error extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/** The path-style URL the SDK would send for the object (for the request recorder). */
function objectUrl(bucket: string, key: string): string {
  return `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Whether an SDK error means the object or bucket is not there. */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket';
}
