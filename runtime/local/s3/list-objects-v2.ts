import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KoaLikeContext {
  query: Record<string, string | undefined>;
  params: { bucket: string };
  store: { listObjects(bucket: string, options: object): Promise<{ objects: ListedObject[]; commonPrefixes: string[]; isTruncated: boolean }> };
  body: unknown;
}
interface ListedObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: Record<string, string>;
}
type Handler = (ctx: KoaLikeContext) => Promise<void>;

/**
 * s3rver 3.7 makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node ≥ 17) no
 * longer provides: any listing longer than one page answered 500. This replaces its bucket GET for
 * `list-type=2` with one whose token is the last key, base64url-encoded; V1 listings are untouched.
 */
export function patchListObjectsV2(): void {
  const controller = require('s3rver/lib/controllers/bucket.js') as { getBucket: Handler; __listV2Patched?: boolean };
  const S3Error = require('s3rver/lib/models/error.js') as new (code: string, message: string, detail?: object) => Error;
  if (controller.__listV2Patched) return;
  const original = controller.getBucket;
  controller.getBucket = async (ctx) => {
    if (ctx.query['list-type'] !== '2') return original(ctx);
    const maxKeysText = ctx.query['max-keys'];
    if (maxKeysText !== undefined && !/^\d+$/.test(maxKeysText)) {
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: maxKeysText });
    }
    const maxKeys = Math.min(1000, maxKeysText === undefined ? 1000 : Number(maxKeysText));
    const token = ctx.query['continuation-token'];
    let startAfter = ctx.query['start-after'];
    if (token) {
      startAfter = Buffer.from(token, 'base64url').toString('utf8');
      if (!startAfter.startsWith('v2:')) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      startAfter = startAfter.slice(3);
    }
    const delimiter = ctx.query['delimiter'] || undefined;
    const prefix = ctx.query['prefix'] || undefined;
    const urlEncoded = ctx.query['encoding-type'] === 'url';
    const encode = (value: string | undefined) => (value !== undefined && urlEncoded ? encodeURIComponent(value).replace(/%2F/g, '/') : value);
    const result =
      maxKeys === 0
        ? { objects: [], commonPrefixes: [], isTruncated: false }
        : await ctx.store.listObjects(ctx.params.bucket, { delimiter, prefix, startAfter, maxKeys });
    const last = result.objects.at(-1);
    ctx.body = {
      ListBucketResult: {
        '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
        Name: ctx.params.bucket,
        Prefix: encode(prefix) ?? '',
        StartAfter: token ? undefined : encode(startAfter),
        ContinuationToken: token,
        NextContinuationToken: result.isTruncated && last ? Buffer.from(`v2:${last.key}`).toString('base64url') : undefined,
        KeyCount: result.objects.length + result.commonPrefixes.length,
        MaxKeys: maxKeysText ?? 1000,
        Delimiter: encode(delimiter),
        EncodingType: urlEncoded ? 'url' : undefined,
        IsTruncated: result.isTruncated,
        Contents: result.objects.map((object) => ({
          Key: encode(object.key),
          LastModified: object.lastModifiedDate.toISOString(),
          ETag: object.metadata['etag'],
          Size: object.size,
          StorageClass: 'STANDARD',
        })),
        CommonPrefixes: result.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
      },
    };
  };
  controller.__listV2Patched = true;
}
