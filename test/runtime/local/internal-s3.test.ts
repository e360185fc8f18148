import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { EdgeRequest } from '../../../runtime/local/request-recorder.js';
import { InternalS3, isNotFound } from '../../../runtime/local/s3/internal-client.js';
import { createS3Service } from '../../../runtime/local/s3/s3-service.js';
import { startLocal } from './local-aws-fixture.js';

/**
 * Local SageMaker's S3 path reads and writes the edge's store without HTTP. What it writes must be
 * what the SDK reads through the edge (bytes, ETag, content type, listing order) and the reverse,
 * its errors must be S3's, and the edge's request recorder must still see each call.
 */

const BUCKET = 'internal-s3';

async function setUp(t: ExecutionContext) {
  const local = await startLocal(t);
  await local.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const recorded: EdgeRequest[] = [];
  const internal = new InternalS3((await createS3Service(local.dataDir, () => {})).objects, (request) => recorded.push(request));
  return { ...local, internal, recorded };
}

test('an object uploaded by local SageMaker reads back through the SDK with its bytes, MD5 ETag and content type, and is listed in S3 order', async (t) => {
  const { s3, internal, dataDir, recorded } = await setUp(t);
  const files = path.join(dataDir, 'files');
  await mkdir(files);
  const keys = ['models/r1/10.tar.gz', 'models/r1/9.tar.gz', 'models/r1/b/1.tar.gz', 'models/r1/a%2F..%2Fx'];
  for (const [i, key] of keys.entries()) {
    const file = path.join(files, String(i));
    await writeFile(file, `model ${i} `.repeat(100 * (i + 1)));
    await internal.upload(BUCKET, key, file, i === 0 ? 'application/x-tar' : undefined);
  }
  for (const [i, key] of keys.entries()) {
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = Buffer.from(await object.Body!.transformToByteArray());
    t.is(body.toString(), `model ${i} `.repeat(100 * (i + 1)), key);
    t.is(object.ETag, `"${createHash('md5').update(body).digest('hex')}"`, key);
    t.is(object.ContentType, i === 0 ? 'application/x-tar' : 'binary/octet-stream', key);
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'models/r1/' }));
  const sdkOrder = listed.Contents?.map((o) => o.Key);
  t.deepEqual(await internal.listKeys(BUCKET, 'models/r1/'), sdkOrder);
  t.deepEqual(sdkOrder, ['models/r1/10.tar.gz', 'models/r1/9.tar.gz', 'models/r1/a%2F..%2Fx', 'models/r1/b/1.tar.gz']);
  t.deepEqual(await internal.listKeys(BUCKET, 'models/r1/b'), ['models/r1/b/1.tar.gz']);
  t.true(recorded.some((r) => r.service === 's3' && r.accessKeyId === 'local-sagemaker' && r.method === 'PUT' && r.url === `/${BUCKET}/models/r1/10.tar.gz`));
  t.true(recorded.some((r) => r.service === 's3' && r.method === 'GET' && r.url === `/${BUCKET}?list-type=2&prefix=models%2Fr1%2F`));
});

test('objects the SDK wrote download whole to a file and as bytes; an overwrite is seen at once', async (t) => {
  const { s3, internal, dataDir } = await setUp(t);
  const big = Buffer.alloc(9 * 1024 * 1024, 7);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/1/customer-data/1.csv', Body: 'timestamp,consumption\n2024-01-01,1\n' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: big }));
  const file = path.join(dataDir, 'in', 'train', '1.csv');
  await internal.download(BUCKET, 'runs/1/customer-data/1.csv', file);
  t.is(await readFile(file, 'utf8'), 'timestamp,consumption\n2024-01-01,1\n');
  t.true(Buffer.from(await internal.getBytes(BUCKET, 'big.bin')).equals(big));
  await writeFile(file, 'changed by the instance');
  t.is(Buffer.from(await internal.getBytes(BUCKET, 'runs/1/customer-data/1.csv')).toString(), 'timestamp,consumption\n2024-01-01,1\n', 'the object is a copy, not the instance file');
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/1/customer-data/1.csv', Body: 'v2' }));
  t.is(Buffer.from(await internal.getBytes(BUCKET, 'runs/1/customer-data/1.csv')).toString(), 'v2');
  // A large upload is streamed, not read whole, and stays byte-exact.
  const bigFile = path.join(dataDir, 'big-out.bin');
  await writeFile(bigFile, big);
  await internal.upload(BUCKET, 'models/big.bin', bigFile);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'models/big.bin' }));
  t.is(head.ContentLength, big.length);
  t.is(head.ETag, `"${createHash('md5').update(big).digest('hex')}"`);
});

test('a missing key, a missing bucket and a bad key fail as S3 does, naming what is missing', async (t) => {
  const { internal, dataDir } = await setUp(t);
  const missingKey = await t.throwsAsync(internal.getBytes(BUCKET, 'models/none.tar.gz'));
  t.is(missingKey?.name, 'NoSuchKey');
  t.true(isNotFound(missingKey));
  t.regex(missingKey?.message ?? '', /s3:\/\/internal-s3\/models\/none\.tar\.gz/);
  const missingDownload = await t.throwsAsync(internal.download(BUCKET, 'models/none.tar.gz', path.join(dataDir, 'x')));
  t.is(missingDownload?.name, 'NoSuchKey');
  for (const call of [() => internal.listKeys('no-such-bucket', ''), () => internal.getBytes('no-such-bucket', 'k'), () => internal.upload('no-such-bucket', 'k', import.meta.filename)]) {
    const error = await t.throwsAsync(call());
    t.is(error?.name, 'NoSuchBucket');
    t.regex(error?.message ?? '', /no-such-bucket/);
  }
  await t.throwsAsync(internal.getBytes(BUCKET, 'k'.repeat(1100)), { message: /1100 bytes long/ });
});
