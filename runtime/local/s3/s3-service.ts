import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import S3rver from 's3rver';
import { AwsChunkedDecoder, decodedHeaders, isAwsChunked } from './aws-chunked.js';
import { localObjects, patchFilesystemStore, type LocalObjects, type S3ErrorClass } from './filesystem-store.js';
import { patchListObjectsV2 } from './list-objects-v2.js';
import { answerS3Fault, type S3FaultSwitch } from './fault-switch.js';
import { answerWithoutBody } from '../../../containers/shared/http-body.js';

const require = createRequire(import.meta.url);

/** s3rver's account registry (`module.exports` of lib/models/account.js): access key id → account. */
interface S3rverAccounts {
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

interface BucketStore {
  getBucket(name: string): Promise<unknown>;
}

export interface S3Service {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The same objects without HTTP, for local SageMaker and the local endpoint (internal-client.ts). */
  readonly objects: LocalObjects;
}

/** The access key local SageMaker signs its own S3 calls with (see internal-client.ts). */
export const INTERNAL_ACCESS_KEY_ID = 'local-sagemaker';

/**
 * S3 from s3rver, persisted under `<dataDir>/s3`, answering path-style requests (what SDK v3 sends
 * to an IP endpoint) with any credentials, as LocalStack does with `test`/`test`.
 */
export async function createS3Service(dataDir: string, log: (line: string) => void, faults?: S3FaultSwitch): Promise<S3Service> {
  const server = new S3rver({
    directory: path.join(dataDir, 's3'),
    silent: true,
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  // s3rver emits every error response; only server-side ones are worth a line.
  server.on('error', (error: Error & { status?: number }) => {
    if ((error.status ?? 500) >= 500) log(`s3: ${error.stack ?? error.message}`);
  });
  const S3Object = require('s3rver/lib/models/object.js') as { ALLOWED_METADATA: readonly string[] } & (new (
    bucket: string,
    key: string,
    content: Buffer | Readable | null,
    metadata: Record<string, string>,
  ) => unknown);
  const S3Error = require('s3rver/lib/models/error.js') as S3ErrorClass;
  patchFilesystemStore(server.store, (bucket, key, metadata) => new S3Object(bucket, key, null, metadata), S3Error, S3Object.ALLOWED_METADATA);
  const accounts = require('s3rver/lib/models/account.js') as S3rverAccounts;
  patchListObjectsV2();
  const store = server.store as BucketStore;
  const handler = server.callback();

  return {
    objects: localObjects(server.store, (bucket, key, content, metadata) => new S3Object(bucket, key, content, metadata)),
    handle(req, res) {
      // s3rver only knows its own access key; any key the caller signs with is accepted instead.
      const accessKeyId = requestAccessKeyId(req);
      const fault = faults && accessKeyId !== INTERNAL_ACCESS_KEY_ID ? faults.pick(headerValue(req.headers['amz-sdk-invocation-id'])) : undefined;
      if (fault !== undefined) {
        void answerWithoutBody(req, res, () => answerS3Fault(res, fault));
        return;
      }
      if (accessKeyId && !accounts.registry.has(accessKeyId)) accounts.DUMMY_ACCOUNT.createKeyPair(accessKeyId, accessKeyId);
      const headBucket = req.method === 'HEAD' ? /^\/([^/?]+)\/?$/.exec(req.url ?? '')?.[1] : undefined;
      if (headBucket !== undefined) {
        void answerHeadBucket(store, decodeURIComponent(headBucket), res);
        return;
      }
      req.url = withEscapedEmptySegments(req.url ?? '/');
      handler(isAwsChunked(req.headers) ? withDecodedBody(req) : req, res);
    },
  };
}

/**
 * s3rver's router cannot match a key with an empty segment (`/abs`, `a//b`, `dir//`); AWS accepts
 * them. Each `/` that follows a `/` in the path is sent as `%2F`, which the router decodes back.
 */
function withEscapedEmptySegments(url: string): string {
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  if (!pathname.includes('//')) return url;
  return pathname.replace(/(?<=\/)\//g, '%2F') + (query === -1 ? '' : url.slice(query));
}

/**
 * HeadBucket. s3rver routes HEAD through its GET handler, which lists the whole bucket (up to 1000
 * objects with their metadata) only to discard the body: tens of milliseconds on a full bucket.
 * As on AWS, a name that is not a bucket name is a 400 Bad Request (a HEAD answer has no body).
 */
async function answerHeadBucket(store: BucketStore, bucket: string, res: ServerResponse): Promise<void> {
  try {
    const found = await store.getBucket(bucket);
    res.writeHead(found ? 200 : 404, found ? { 'x-amz-bucket-region': 'us-east-1' } : {});
  } catch (error) {
    res.writeHead((error as { code?: string }).code === 'InvalidBucketName' ? 400 : 500);
  }
  res.end();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function requestAccessKeyId(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization ?? '';
  const fromHeader = /Credential=([^/,\s]+)/.exec(authorization)?.[1] ?? /^AWS ([^:]+):/.exec(authorization)?.[1];
  if (fromHeader) return fromHeader;
  const query = new URL(req.url ?? '/', 'http://local').searchParams;
  return query.get('X-Amz-Credential')?.split('/')[0] ?? query.get('AWSAccessKeyId') ?? undefined;
}

/** The same request with its aws-chunked body decoded, as s3rver expects a plain body. */
function withDecodedBody(req: IncomingMessage): IncomingMessage {
  const decoded: Readable = req.pipe(new AwsChunkedDecoder());
  req.on('error', (error) => decoded.destroy(error));
  return Object.assign(decoded, {
    headers: decodedHeaders(req.headers),
    rawHeaders: req.rawHeaders,
    url: req.url,
    method: req.method,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
  }) as unknown as IncomingMessage;
}
