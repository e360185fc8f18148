import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { appendPathComponent, keyToPathComponents, MAX_PIECE_BYTES } from '../../../runtime/local/s3/key-path.js';
import { fileForKey } from '../../../runtime/local/sagemaker/job-support.js';
import { startLocal } from './local-aws-fixture.js';

/** Every file and folder under `dir`, relative to it. */
async function tree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

/** A raw request, as a browser, curl or a script sends it: the path exactly as given. */
function raw(endpointUrl: string, method: string, requestPath: string, body = '', headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string }> {
  const url = new URL(endpointUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: requestPath, headers: { 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const LONG_SEGMENT = 'é'.repeat(300) + 'x'.repeat(100) + '%'.repeat(50);
/** Keys S3 accepts that name parent folders, absolute paths, encoded slashes or exceed NAME_MAX. */
const AWKWARD_KEYS = [
  '../../../escaped',
  'a/../../b',
  '..',
  '.',
  './x',
  '/absolute/etc/passwd',
  '..%2F..%2Fencoded',
  '%2e%2e/%2E%2E/x',
  'a//b',
  'a/b',
  'dir/',
  'tab\there',
  '._S3rver_object',
  LONG_SEGMENT,
  `${'d/'.repeat(10)}${LONG_SEGMENT}/tail`,
  'k'.repeat(1024),
];

test('key layout: every key round-trips through its path components, none of which is . or .. or too long', (t) => {
  for (const key of AWKWARD_KEYS) {
    const components = keyToPathComponents(key);
    let text: string | undefined;
    for (const component of components) {
      t.false(component === '.' || component === '..' || component === '' || component.includes('/'), `${JSON.stringify(key)} → ${component}`);
      t.true(Buffer.byteLength(component) <= MAX_PIECE_BYTES + 2, `${JSON.stringify(key)}: component of ${Buffer.byteLength(component)} bytes`);
      text = appendPathComponent(text, component);
    }
    t.is(text, key);
  }
  t.deepEqual(keyToPathComponents('runs/r1/customer-data/7.csv'), ['runs', 'r1', 'customer-data', '7.csv'], 'ordinary keys keep their plain layout');
});

test('no S3 key or upload id reaches outside the bucket folder, and awkward keys AWS accepts round-trip', async (t) => {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'i9-s3-contain-'));
  t.teardown(() => fs.rm(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'data');
  const { s3, aws } = await startLocal(t, {}, dataDir);
  await s3.send(new CreateBucketCommand({ Bucket: 'bkt1' }));
  const before = (await tree(parent)).filter((p) => !p.startsWith(path.join('data', 's3', 'bkt1')));

  // The report's request: an encoded traversal in a raw path.
  const put = await raw(aws.endpointUrl, 'PUT', '/bkt1/..%2F..%2F..%2Fescaped', 'owned');
  t.is(put.status, 200);
  for (const key of AWKWARD_KEYS) {
    await s3.send(new PutObjectCommand({ Bucket: 'bkt1', Key: key, Body: `body of ${key}` }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bkt1', Key: key }));
    t.is(await got.Body?.transformToString(), `body of ${key}`, `GET ${JSON.stringify(key)}`);
  }
  // A multipart part with a traversal in its upload id or part number.
  t.is((await raw(aws.endpointUrl, 'PUT', '/bkt1/x?partNumber=1&uploadId=..%2F..%2F..%2Fpart', 'p')).status, 404);
  t.is((await raw(aws.endpointUrl, 'PUT', '/bkt1/x?partNumber=..%2F..%2Fpart&uploadId=0123456789abcdef0123456789abcdef', 'p')).status, 400);
  // Bucket names that are paths.
  for (const bucket of ['..', '..%2F..%2Fdata', '.']) {
    const answer = await raw(aws.endpointUrl, 'PUT', `/${bucket}/k`, 'b');
    t.true(answer.status >= 400 && answer.status < 500, `bucket ${bucket}: ${answer.status}`);
  }
  const tooLong = await s3.send(new PutObjectCommand({ Bucket: 'bkt1', Key: 'k'.repeat(1025), Body: 'x' })).catch((e: Error) => e);
  t.is((tooLong as Error).name, 'KeyTooLongError');

  const after = (await tree(parent)).filter((p) => !p.startsWith(path.join('data', 's3', 'bkt1')));
  t.deepEqual(after, before, 'nothing was written outside the bucket folder');

  const listed: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'bkt1', ContinuationToken: token, MaxKeys: 5 }));
    listed.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  const expected = [...new Set([...AWKWARD_KEYS, '../../../escaped'])].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  t.deepEqual(listed, expected, 'listings give back every key exactly');
  const prefixed = await s3.send(new ListObjectsV2Command({ Bucket: 'bkt1', Prefix: 'd/d/', Delimiter: '/' }));
  t.deepEqual(prefixed.CommonPrefixes?.map((p) => p.Prefix), ['d/d/d/']);

  for (const key of AWKWARD_KEYS) await s3.send(new DeleteObjectCommand({ Bucket: 'bkt1', Key: key }));
  t.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket: 'bkt1' }))).Contents ?? [], []);
  t.deepEqual(await tree(path.join(dataDir, 's3', 'bkt1')), [], 'deleting removes the folders the keys made');
});

test('a job input or checkpoint key with a "..", "." or empty segment fails the job instead of landing outside its folder', (t) => {
  const dir = path.join(os.tmpdir(), 'job', 'algo-1', 'input', 'data', 'train');
  t.is(fileForKey(dir, 'customer-data/42.csv', 's3://b/k'), path.join(dir, 'customer-data', '42.csv'));
  for (const rel of ['../../../../escape.csv', 'a/../../b.csv', './x.csv', 'a//b.csv']) {
    t.throws(() => fileForKey(dir, rel, `s3://b/runs/${rel}`), { message: new RegExp(`^ClientError: cannot download s3://b/runs/${rel.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) }, rel);
  }
});
