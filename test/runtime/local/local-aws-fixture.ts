import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { datasetChunks } from '../../../runtime/dataset/generator.js';
import { startLocalAws, type LocalAws, type LocalAwsOptions } from '../../../runtime/local/edge-server.js';

export interface LocalAwsFixture {
  aws: LocalAws;
  dataDir: string;
  s3: S3Client;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  lines: string[];
}

export const ROLE_ARN = 'arn:aws:iam::000000000000:role/forecast-local-sagemaker';

/** The real SDK clients, as the pipeline and client make them, pointed at one edge server. */
export function sdkClients(endpointUrl: string) {
  const config = { endpoint: endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  return { s3: new S3Client(config), sagemaker: new SageMakerClient(config), runtime: new SageMakerRuntimeClient(config) };
}

/** Starts local mode on an ephemeral port over a fresh temp folder, closed and removed in teardown. */
export async function startLocal(t: ExecutionContext, options: Partial<LocalAwsOptions> = {}, dataDir?: string): Promise<LocalAwsFixture> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'local-aws-')));
  const lines: string[] = [];
  const aws = await startLocalAws({ stopGraceMs: 2000, checkpointIntervalMs: 100, ...options, dataDir: dir, port: 0, log: (line) => lines.push(line) });
  const clients = sdkClients(aws.endpointUrl);
  t.teardown(async () => {
    for (const client of Object.values(clients)) client.destroy();
    await aws.close();
    if (!dataDir) await rm(dir, { recursive: true, force: true });
  });
  return { aws, dataDir: dir, ...clients, lines };
}

/** One `<id>.csv` (`timestamp,consumption`) per customer under `prefix`, from A's generator. */
export async function putCustomerFiles(s3: S3Client, bucket: string, prefix: string, customers: number, days = 120): Promise<string[]> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
    if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
  });
  const rows = new Map<string, string[]>();
  for (const chunk of datasetChunks({ customers, days, weekly: 0.1, noise: 0.03, seed: 11, order: 'customer' })) {
    for (const line of chunk.split('\n')) {
      if (line === '' || line.startsWith('customer_id')) continue;
      const comma = line.indexOf(',');
      const id = line.slice(0, comma);
      const list = rows.get(id) ?? [];
      list.push(line.slice(comma + 1));
      rows.set(id, list);
    }
  }
  await Promise.all(
    [...rows].map(([id, lines]) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${id}.csv`, Body: `timestamp,consumption\n${lines.join('\n')}\n` }))),
  );
  return [...rows.keys()];
}

/** Polls `read` until `done` holds or `timeoutMs` passes. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)?.slice(0, 500)}`);
    await delay(100);
  }
}
