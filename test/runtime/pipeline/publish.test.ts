import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalAws } from '../../../runtime/local/edge-server.js';
import { CURRENT_MANIFEST_KEY, historyManifestKey, parseManifest, type ManifestEntry } from '../../../runtime/pipeline/manifest.js';
import { publishManifest } from '../../../runtime/pipeline/publish.js';

const BUCKET = 'forecast-publish-test';

async function localS3(t: ExecutionContext): Promise<S3Client> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'forecast-publish-test-'));
  const aws = await startLocalAws({ dataDir, port: 0 });
  t.teardown(async () => {
    await aws.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const s3 = new S3Client({ endpoint: aws.endpointUrl, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  return s3;
}

async function read(s3: S3Client, key: string) {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return parseManifest((await response.Body?.transformToString()) ?? '');
}

function entries(runId: string, ids: string[]): Record<string, ManifestEntry> {
  return Object.fromEntries(ids.map((id) => [id, { targetModel: `${runId}/${id}.tar.gz`, runId, trainedAt: '2026-11-26T01:30:00.000Z', metrics: { mae: 1 } }]));
}

const publish = (s3: S3Client, runId: string, ids: string[], at: string) =>
  publishManifest({ s3, bucket: BUCKET, runId, endpointName: 'forecast-test', fresh: entries(runId, ids), now: () => new Date(at) });

test('history first, then current; customers without a new model keep their entry', async (t) => {
  const s3 = await localS3(t);
  const first = await publish(s3, '20261126-0200', ['1', '2', '3'], '2026-11-26T02:30:00Z');
  t.is(first.outcome, 'published');
  const second = await publish(s3, '20261127-0200', ['1', '3'], '2026-11-27T02:30:00Z');
  t.is(second.outcome, 'published');
  t.deepEqual(second.keptPrevious, ['2']);
  const current = await read(s3, CURRENT_MANIFEST_KEY);
  t.deepEqual(current, await read(s3, historyManifestKey('20261127-0200')));
  t.deepEqual(Object.fromEntries(Object.entries(current.models).map(([id, e]) => [id, e.targetModel])), {
    '1': '20261127-0200/1.tar.gz',
    '2': '20261126-0200/2.tar.gz',
    '3': '20261127-0200/3.tar.gz',
  });
  t.deepEqual(await read(s3, historyManifestKey('20261126-0200')), first.manifest);
});

test('a rerun is idempotent and finishes a publish that stopped after the history', async (t) => {
  const s3 = await localS3(t);
  const first = await publish(s3, '20261126-0200', ['1'], '2026-11-26T02:30:00Z');
  t.is((await publish(s3, '20261126-0200', ['1'], '2026-11-26T03:00:00Z')).outcome, 'already-published');
  t.deepEqual(await read(s3, CURRENT_MANIFEST_KEY), first.manifest);

  // An earlier invocation wrote the history and died before flipping current.
  const pending = { ...first.manifest, runId: '20261127-0200', publishedAt: '2026-11-27T02:30:00.000Z', models: entries('20261127-0200', ['1']) };
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: historyManifestKey('20261127-0200'), Body: JSON.stringify(pending) }));
  const finished = await publish(s3, '20261127-0200', ['1'], '2026-11-27T04:00:00Z');
  t.is(finished.outcome, 'completed');
  t.deepEqual(await read(s3, CURRENT_MANIFEST_KEY), pending);
});

test('a late rerun of an older night never rolls back a newer current manifest', async (t) => {
  const s3 = await localS3(t);
  const newer = await publish(s3, '20261127-0200', ['1'], '2026-11-27T02:30:00Z');
  const older = await publish(s3, '20261126-0200', ['1', '2'], '2026-11-27T09:00:00Z');
  t.is(older.outcome, 'superseded');
  t.deepEqual(await read(s3, CURRENT_MANIFEST_KEY), newer.manifest);
  t.is((await read(s3, historyManifestKey('20261126-0200'))).runId, '20261126-0200');
});
