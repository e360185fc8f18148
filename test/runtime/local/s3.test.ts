import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AwsChunkedDecoder, decodedHeaders } from '../../../runtime/local/s3/aws-chunked.js';
import { startLocal } from './local-aws-fixture.js';

async function decode(body: Buffer, pieceSize: number): Promise<{ bytes: Buffer; trailers: Map<string, string> }> {
  const decoder = new AwsChunkedDecoder();
  const pieces = [];
  for (let i = 0; i < body.length; i += pieceSize) pieces.push(body.subarray(i, i + pieceSize));
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pieces).pipe(decoder)) chunks.push(chunk as Buffer);
  return { bytes: Buffer.concat(chunks), trailers: decoder.trailers };
}

test('aws-chunked bodies decode whatever the network splits, signed chunks and trailers included', async (t) => {
  const payload = Buffer.from('customer_id,timestamp,consumption\n1,2022-01-01,3.5\n');
  const unsigned = Buffer.concat([
    Buffer.from(`${(20).toString(16)}\r\n`), payload.subarray(0, 20), Buffer.from('\r\n'),
    Buffer.from(`${(payload.length - 20).toString(16)}\r\n`), payload.subarray(20), Buffer.from('\r\n'),
    Buffer.from('0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'),
  ]);
  for (const size of [1, 3, 7, 1000]) {
    const { bytes, trailers } = await decode(unsigned, size);
    t.deepEqual(bytes, payload, `split every ${size} bytes`);
    t.is(trailers.get('x-amz-checksum-crc32'), 'AAAAAA==');
  }
  const signed = Buffer.concat([
    Buffer.from(`${payload.length.toString(16)};chunk-signature=${'a'.repeat(64)}\r\n`), payload, Buffer.from('\r\n'),
    Buffer.from(`0;chunk-signature=${'b'.repeat(64)}\r\n\r\n`),
  ]);
  t.deepEqual((await decode(signed, 5)).bytes, payload);
  await t.throwsAsync(decode(unsigned.subarray(0, 30), 10), { message: /ended early/ });

  const headers = decodedHeaders({ 'content-encoding': 'aws-chunked,gzip', 'x-amz-decoded-content-length': '52', 'transfer-encoding': 'chunked', 'x-amz-trailer': 'x-amz-checksum-crc32' });
  t.is(headers['content-encoding'], 'gzip');
  t.is(headers['content-length'], '52');
  t.is(headers['transfer-encoding'], undefined);
});

/** Records the headers of every request the client sends. */
function recordHeaders(s3: S3Client): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  return seen;
}

test('the current SDK streaming upload (aws-chunked with a checksum trailer) stores the object bytes', async (t) => {
  const { s3 } = await startLocal(t);
  await s3.send(new CreateBucketCommand({ Bucket: 'chunked' }));
  const seen = recordHeaders(s3);
  const parts = [Buffer.alloc(70_000, 'a'), Buffer.from('tail')];
  await s3.send(new PutObjectCommand({ Bucket: 'chunked', Key: 'stream/object.bin', Body: Readable.from(parts), ContentLength: 70_004 }));
  t.regex(seen.at(-1)?.['content-encoding'] ?? '', /aws-chunked/, 'the SDK sent aws-chunked, so the decoder was exercised');
  const object = await s3.send(new GetObjectCommand({ Bucket: 'chunked', Key: 'stream/object.bin' }));
  t.is(object.ContentLength, 70_004);
  t.is(object.ContentEncoding, undefined);
  t.deepEqual(Buffer.from(await object.Body!.transformToByteArray()), Buffer.concat(parts));
});

test('listings come in S3 key order and page without losing keys', async (t) => {
  const { s3 } = await startLocal(t);
  await s3.send(new CreateBucketCommand({ Bucket: 'ordered' }));
  const keys = ['a', 'a-b', 'a/b', 'a/b/c', 'B', 'b', 'z/1.csv', 'z/10.csv', 'z/2.csv', 'ä', '0'].flatMap((k) => [k, `${k}x`]);
  await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'ordered', Key, Body: Key }))));
  const listed: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'ordered', MaxKeys: 3, ContinuationToken: token }));
    listed.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  t.deepEqual(listed, expected);

  t.is((await s3.send(new HeadBucketCommand({ Bucket: 'ordered' }))).$metadata.httpStatusCode, 200);
  const missing = await t.throwsAsync(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })));
  t.is(missing?.name, 'NotFound');
  // AWS answers a name that cannot be a bucket's with 400, which the SDK does not retry (a 500 it would, three times).
  const invalid = await t.throwsAsync(s3.send(new HeadBucketCommand({ Bucket: 'Not_A_Bucket' })));
  t.like((invalid as { $metadata?: object } | undefined)?.$metadata, { httpStatusCode: 400, attempts: 1 });

  const folders = await s3.send(new ListObjectsV2Command({ Bucket: 'ordered', Prefix: 'a', Delimiter: '/' }));
  t.deepEqual(folders.CommonPrefixes?.map((p) => p.Prefix), ['a/']);
  t.deepEqual(folders.Contents?.map((o) => o.Key), ['a', 'a-b', 'a-bx', 'ax']);
});

test('an object read right after it is written, or while it is overwritten, is always whole', async (t) => {
  const { s3 } = await startLocal(t);
  await s3.send(new CreateBucketCommand({ Bucket: 'atomic' }));
  const versions = [Buffer.alloc(300_000, 'x'), Buffer.alloc(200_000, 'y')];
  await s3.send(new PutObjectCommand({ Bucket: 'atomic', Key: 'k', Body: versions[0] }));
  const reads: Promise<Buffer>[] = [];
  for (let i = 0; i < 6; i++) {
    const put = s3.send(new PutObjectCommand({ Bucket: 'atomic', Key: 'k', Body: versions[i % 2] }));
    reads.push(s3.send(new GetObjectCommand({ Bucket: 'atomic', Key: 'k' })).then(async (o) => Buffer.from(await o.Body!.transformToByteArray())));
    await put;
    reads.push(s3.send(new GetObjectCommand({ Bucket: 'atomic', Key: 'k' })).then(async (o) => Buffer.from(await o.Body!.transformToByteArray())));
  }
  for (const body of await Promise.all(reads)) t.true(body.equals(versions[0] as Buffer) || body.equals(versions[1] as Buffer), `read ${body.length} bytes`);
});

test('an object is two files (bytes, metadata with its MD5); ETag, content type, user metadata and copies are S3\'s, and objects stored with a .md5 file still read', async (t) => {
  const { s3, dataDir } = await startLocal(t);
  await s3.send(new CreateBucketCommand({ Bucket: 'meta' }));
  const body = 'timestamp,consumption\n2024-01-01,1\n';
  const md5 = `"${createHash('md5').update(body).digest('hex')}"`;
  await s3.send(new PutObjectCommand({ Bucket: 'meta', Key: 'runs/1/a.csv', Body: body, ContentType: 'text/csv', Metadata: { source: 'drop-1' } }));
  t.deepEqual((await readdir(path.join(dataDir, 's3', 'meta', 'runs', '1'))).sort(), ['a.csv._S3rver_metadata.json', 'a.csv._S3rver_object']);
  const got = await s3.send(new GetObjectCommand({ Bucket: 'meta', Key: 'runs/1/a.csv' }));
  t.is(await got.Body!.transformToString(), body);
  t.like(got, { ETag: md5, ContentType: 'text/csv', Metadata: { source: 'drop-1' }, ContentLength: body.length });
  t.is((await s3.send(new ListObjectsV2Command({ Bucket: 'meta', Prefix: 'runs/' }))).Contents?.[0]?.ETag, md5);

  await s3.send(new CopyObjectCommand({ Bucket: 'meta', Key: 'copies/a.csv', CopySource: 'meta/runs/1/a.csv' }));
  t.like(await s3.send(new HeadObjectCommand({ Bucket: 'meta', Key: 'copies/a.csv' })), { ETag: md5, ContentType: 'text/csv', Metadata: { source: 'drop-1' } });
  await s3.send(new CopyObjectCommand({ Bucket: 'meta', Key: 'copies/b.csv', CopySource: 'meta/runs/1/a.csv', MetadataDirective: 'REPLACE', ContentType: 'text/plain' }));
  const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'meta', Key: 'copies/b.csv' }));
  t.like(replaced, { ETag: md5, ContentType: 'text/plain' });
  t.deepEqual(replaced.Metadata, {});

  // As s3rver and earlier versions stored it: the MD5 in its own file.
  const old = path.join(dataDir, 's3', 'meta', 'old');
  await mkdir(old, { recursive: true });
  await writeFile(path.join(old, 'x._S3rver_object'), 'old bytes');
  await writeFile(path.join(old, 'x._S3rver_object.md5'), createHash('md5').update('old bytes').digest('hex'));
  await writeFile(path.join(old, 'x._S3rver_metadata.json'), JSON.stringify({ 'content-type': 'text/csv' }));
  const earlier = await s3.send(new GetObjectCommand({ Bucket: 'meta', Key: 'old/x' }));
  t.is(await earlier.Body!.transformToString(), 'old bytes');
  t.like(earlier, { ETag: `"${createHash('md5').update('old bytes').digest('hex')}"`, ContentType: 'text/csv' });
});
