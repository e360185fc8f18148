import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { CUSTOMER_INDEX_FILE } from '../../containers/processing/customer-index.js';
import { QUARANTINE_FILE } from '../../containers/processing/process-raw-data.js';
import { DEFAULT_COLUMN_ORDER, headerColumnOrder, type ColumnOrder } from '../../containers/processing/row.js';
import { MODELS_PREFIX, RUNS_PREFIX } from './bucket-layout.js';
import { CURRENT_MANIFEST_KEY, MANIFEST_HISTORY_PREFIX, parseManifest, type Manifest } from './manifest.js';
import { deleteKeys, listObjects, readTextIfExists, writeJson } from './s3-objects.js';

/**
 * Erasing one customer: their entry leaves `current.json` and every history manifest (each
 * rewritten whole), their models and processed files in every run are deleted, and every raw drop,
 * quarantine file and customer index that holds one of their rows is rewritten without it. In a
 * versioned bucket the old versions stay until the noncurrent-version lifecycle rule expires them.
 */

export const CUSTOMER_ID = /^(0|[1-9]\d{0,15})$/;

export interface ForgetResult {
  readonly customerId: string;
  readonly dryRun: boolean;
  /** Manifests the customer was removed from. */
  readonly manifests: readonly string[];
  /** Model and processed-data objects deleted. */
  readonly deleted: readonly string[];
  /** Objects rewritten without the customer's rows, with the rows removed from each. */
  readonly rewritten: readonly { key: string; rows: number }[];
}

export class ForgetError extends Error {
  override readonly name = 'ForgetError';
  readonly code = 'E_FORGET';
}

export async function forgetCustomer(args: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly rawPrefix: string;
  readonly customerId: string;
  readonly dryRun: boolean;
  readonly log?: (line: string) => void;
}): Promise<ForgetResult> {
  const { s3, bucket, customerId, dryRun } = args;
  const log = args.log ?? (() => {});
  if (!CUSTOMER_ID.test(customerId)) throw new ForgetError(`customer id ${JSON.stringify(customerId)} is not a customer id; expected a non-negative integer such as 42`);
  const objects = await listObjects(s3, bucket, '');

  // Manifests first: once no manifest names the customer, nothing serves or references their models.
  const manifests: string[] = [];
  const historyKeys = objects.map((o) => o.key).filter((key) => key.startsWith(MANIFEST_HISTORY_PREFIX) && key.endsWith('.json'));
  for (const key of [...historyKeys, CURRENT_MANIFEST_KEY]) {
    const text = await readTextIfExists(s3, bucket, key);
    if (text === undefined) continue;
    const manifest = parseManifest(text, `s3://${bucket}/${key}`);
    if (manifest.models[customerId] === undefined) continue;
    manifests.push(key);
    if (dryRun) continue;
    const models = { ...manifest.models };
    delete models[customerId];
    await writeJson(s3, bucket, key, { ...manifest, models } satisfies Manifest);
    log(`forget: removed customer ${customerId} from s3://${bucket}/${key}`);
  }

  const customerFile = `${customerId}.csv`;
  const deleted = objects
    .map((o) => o.key)
    .filter((key) => (key.startsWith(MODELS_PREFIX) && path.posix.basename(key) === `${customerId}.tar.gz`) || (key.startsWith(RUNS_PREFIX) && key.endsWith(`/customer-data/${customerFile}`)));
  if (!dryRun) await deleteKeys(s3, bucket, deleted);
  if (deleted.length > 0) log(`forget: ${dryRun ? 'would delete' : 'deleted'} ${deleted.length} model and processed-data objects`);

  const work = await mkdtemp(path.join(os.tmpdir(), 'forecast-forget-'));
  const rewritten: { key: string; rows: number }[] = [];
  try {
    const rawOrders = new Map<string, ColumnOrder>();
    const rewrite = async (key: string, keep: (line: string, index: number) => boolean) => {
      const rows = await filterObject(s3, bucket, key, path.join(work, 'object'), keep, dryRun);
      if (rows === 0) return;
      rewritten.push({ key, rows });
      log(`forget: ${dryRun ? 'would rewrite' : 'rewrote'} s3://${bucket}/${key} without ${rows} row(s)`);
    };
    for (const { key } of objects) {
      if (!key.startsWith(args.rawPrefix) || !key.toLowerCase().endsWith('.csv')) continue;
      let order = DEFAULT_COLUMN_ORDER;
      await rewrite(key, (line, index) => {
        if (index === 0) {
          const named = headerColumnOrder(line.split(','));
          if (named !== undefined) {
            order = named;
            rawOrders.set(key.slice(args.rawPrefix.length), named);
            return true;
          }
        }
        return rawCustomerId(line, order) !== customerId;
      });
    }
    for (const { key } of objects) {
      if (!key.startsWith(RUNS_PREFIX)) continue;
      if (key.endsWith(`/${CUSTOMER_INDEX_FILE}`)) await rewrite(key, (line, index) => index === 0 || line.split(',')[0] !== customerId);
      else if (key.endsWith(`/${QUARANTINE_FILE}`)) {
        await rewrite(key, (line, index) => {
          if (index === 0) return true;
          const [file, , , raw] = (parse(line, { relax_column_count: true, relax_quotes: true }) as string[][])[0] ?? [];
          return raw === undefined || rawCustomerId(raw, rawOrders.get(file ?? '') ?? DEFAULT_COLUMN_ORDER) !== customerId;
        });
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { customerId, dryRun, manifests, deleted, rewritten };
}

/** The customer id field of a raw row, unquoted and trimmed. */
function rawCustomerId(line: string, order: ColumnOrder): string | undefined {
  const field = line.split(',')[order.customerId];
  return field?.trim().replace(/^"(.*)"$/, '$1').trim();
}

/**
 * Streams an object line by line into `file`, keeping the lines `keep` accepts, and uploads the
 * result in its place when a line was dropped (unless `dryRun`). Returns how many lines were dropped.
 */
async function filterObject(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  keep: (line: string, index: number) => boolean,
  dryRun: boolean,
): Promise<number> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new ForgetError(`s3://${bucket}/${key} has no body`);
  const out = createWriteStream(file);
  let dropped = 0;
  let index = 0;
  for await (const line of createInterface({ input: response.Body as Readable, crlfDelay: Infinity })) {
    if (keep(line, index++)) {
      if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    } else dropped += 1;
  }
  out.end();
  await finished(out);
  if (dropped > 0 && !dryRun) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: (await stat(file)).size,
        ...(response.ContentType ? { ContentType: response.ContentType } : {}),
      }),
    );
  }
  return dropped;
}
