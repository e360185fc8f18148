import test from 'ava';
import { CreateBucketCommand, PutObjectCommand, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { cleanUpBucket } from '../../../runtime/pipeline/cleanup.js';
import { MANIFEST_FORMAT_VERSION, targetModelName, type Manifest } from '../../../runtime/pipeline/manifest.js';
import { listKeys } from '../../../runtime/pipeline/s3-objects.js';
import { startLocal } from '../local/local-aws-fixture.js';

const BUCKET = 'forecast-cleanup';
const RUNS = ['20261101-0200', '20261102-0200', '20261120-0200', '20261121-0200', '20261122-0200'];
const CUTOFF = '20261110-0200';
const CUSTOMERS = 30;
/** The first night's model of customer 0, still served by a manifest within the retention. */
const OLD_BUT_SERVED = RUNS[0]!;

/** A manifest of `run` serving customer 0 from the model `modelRun` trained. */
function manifest(run: string, modelRun: string): Manifest {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    runId: run,
    publishedAt: '2026-11-22T02:10:00.000Z',
    endpointName: 'forecast-test',
    models: { '0': { targetModel: targetModelName(modelRun, '0'), runId: modelRun, trainedAt: '2026-11-01T02:05:00.000Z', metrics: {} } },
  };
}

test('a night’s cleanup lists only the run folders before the cutoff, never the nights within the retention, and removes the same', async (t) => {
  const { s3 } = await startLocal(t);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const put = (Key: string, Body = 'x') => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  for (const run of RUNS) {
    await Promise.all([
      ...Array.from({ length: CUSTOMERS }, (_, customer) => put(`models/${run}/${customer}.tar.gz`)),
      put(`runs/${run}/report.json`),
      put(`runs/${run}/customer-data/0.csv`),
      put(`manifests/history/${run}.json`, JSON.stringify(manifest(run, run === RUNS[2] ? OLD_BUT_SERVED : run))),
    ]);
  }
  await put('models/stray.tar.gz');
  await put('raw/energy.csv');

  const listed: ListObjectsV2CommandInput[] = [];
  s3.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'ListObjectsV2Command') listed.push(args.input as ListObjectsV2CommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordListings' },
  );
  const result = await cleanUpBucket({ s3, bucket: BUCKET, retentionDays: 10, cutoffRunId: CUTOFF, dryRun: false });
  s3.middlewareStack.remove('recordListings');

  const prefixes = listed.map((input) => `${input.Prefix}${input.Delimiter === undefined ? '' : ` (folders)`}`).sort();
  t.deepEqual(prefixes, [
    'manifests/history/',
    'models/ (folders)',
    'models/20261101-0200/',
    'models/20261102-0200/',
    'runs/ (folders)',
    'runs/20261101-0200/',
    'runs/20261102-0200/',
  ]);
  t.deepEqual(result.summary.removed.runs, ['20261101-0200', '20261102-0200']);
  t.deepEqual(result.summary.removed.byKind, { model: 2 * CUSTOMERS - 1, 'run-data': 4, 'history-manifest': 2 });
  t.deepEqual(result.summary.kept.byKind, { model: 1, 'run-data': 0, 'history-manifest': 0 });
  const left = await listKeys(s3, BUCKET, '');
  t.is(left.length, 3 * (CUSTOMERS + 3) + 3, 'the three recent runs, the model a kept manifest serves, the stray model and the raw drop remain');
  t.deepEqual(left.filter((key) => key.includes('20261101') || key.includes('20261102')), [`models/${targetModelName(OLD_BUT_SERVED, '0')}`]);
  t.true(left.includes('models/stray.tar.gz') && left.includes('raw/energy.csv'));
});
