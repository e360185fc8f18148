import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalAws } from '../../../runtime/local/edge-server.js';
import { CURRENT_MANIFEST_KEY, historyManifestKey } from '../../../runtime/pipeline/manifest.js';
import { publishManifest } from '../../../runtime/pipeline/publish.js';
import { readTextIfExists } from '../../../runtime/pipeline/s3-objects.js';

const BUCKET = 'forecast-first-night';

const ACCESS_DENIED = (key: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><Key>${key}</Key></Error>`;

/**
 * Local S3 behind a loopback proxy that answers as AWS S3 does a caller without `s3:ListBucket` on
 * the bucket (a grant conditioned on `s3:prefix` does not count for GetObject): a missing key is 403
 * AccessDenied, not 404. Keys in `denied` are refused even when they exist (a real permission gap).
 */
async function s3WithoutBucketListing(t: ExecutionContext, denied: ReadonlySet<string> = new Set()): Promise<{ s3: S3Client; requests: string[] }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'forecast-first-night-'));
  const aws = await startLocalAws({ dataDir, port: 0 });
  const upstream = new URL(aws.endpointUrl);
  const requests: string[] = [];
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', aws.endpointUrl);
    const key = decodeURIComponent(url.pathname.replace(`/${BUCKET}/`, ''));
    requests.push(`${req.method ?? ''} ${url.pathname}${url.search}`);
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const isObjectGet = req.method === 'GET' && url.pathname.startsWith(`/${BUCKET}/`) && !url.searchParams.has('list-type');
      if (isObjectGet && (answer.statusCode === 404 || denied.has(key))) {
        answer.resume();
        res.writeHead(403, { 'content-type': 'application/xml' }).end(ACCESS_DENIED(key));
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  t.teardown(async () => {
    s3.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    proxy.closeAllConnections();
    await aws.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  return { s3, requests };
}

test('a missing key answered with 403 (no bucket-wide ListBucket) reads as absent, settled by listing the key itself', async (t) => {
  const { s3, requests } = await s3WithoutBucketListing(t);
  t.is(await readTextIfExists(s3, BUCKET, CURRENT_MANIFEST_KEY), undefined);
  t.true(requests.some((r) => /list-type=2/.test(r) && /prefix=manifests%2Fcurrent\.json/.test(r)), requests.join('\n'));
});

test('a key that exists but is denied stays an error (never mistaken for a first night)', async (t) => {
  const { s3 } = await s3WithoutBucketListing(t, new Set([CURRENT_MANIFEST_KEY]));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: CURRENT_MANIFEST_KEY, Body: '{}' }));
  const error = await t.throwsAsync(readTextIfExists(s3, BUCKET, CURRENT_MANIFEST_KEY));
  t.is(error?.name, 'AccessDenied');
});

test('a longer key sharing the prefix does not make a missing key exist', async (t) => {
  const { s3 } = await s3WithoutBucketListing(t);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${CURRENT_MANIFEST_KEY}.bak`, Body: '{}' }));
  t.is(await readTextIfExists(s3, BUCKET, CURRENT_MANIFEST_KEY), undefined);
});

test('the first night publishes on S3 that answers missing manifests with 403', async (t) => {
  const { s3 } = await s3WithoutBucketListing(t);
  const runId = '20261126-0200';
  const result = await publishManifest({
    s3,
    bucket: BUCKET,
    runId,
    endpointName: 'forecast-test',
    fresh: { '1': { targetModel: `${runId}/1.tar.gz`, runId, trainedAt: '2026-11-26T01:30:00.000Z', metrics: { mae: 1 } } },
    now: () => new Date('2026-11-26T02:30:00Z'),
  });
  t.is(result.outcome, 'published');
  t.not(await readTextIfExists(s3, BUCKET, historyManifestKey(runId)), undefined);
});
