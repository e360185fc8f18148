import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { INTERNAL_ACCESS_KEY_ID } from './s3-service.js';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * How local SageMaker reaches local S3: the real SDK against the edge's own port, as SageMaker's
 * hosts reach S3 on AWS. Jobs and endpoints use nothing but this.
 */
export class InternalS3 {
  readonly client: S3Client;

  constructor(endpointUrl: string, region: string) {
    this.client = new S3Client({
      endpoint: endpointUrl,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId: INTERNAL_ACCESS_KEY_ID, secretAccessKey: INTERNAL_ACCESS_KEY_ID },
      maxAttempts: 2,
      // Loopback to our own S3: checksums would only cost time on the model-loading path.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Every key under `prefix`, in S3's order. */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async download(bucket: string, key: string, file: string): Promise<void> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await fs.mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.partial`;
    await pipeline(object.Body as Readable, createWriteStream(partial));
    await fs.rename(partial, file);
  }

  async getBytes(bucket: string, key: string): Promise<Uint8Array> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await object.Body?.transformToByteArray()) ?? new Uint8Array(0);
  }

  async upload(bucket: string, key: string, file: string, contentType?: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await fs.readFile(file), ContentType: contentType }));
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** Whether an SDK error means the object or bucket is not there. */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket';
}
