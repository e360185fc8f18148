import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import test from 'ava';
import { main as forecastCli } from '../../../runtime/client/cli.js';
import { LOCAL_DEFAULTS, startLocalMode } from '../../../runtime/local/main.js';
import type { LocalModeRun } from '../../../runtime/local/main.js';
import { CURRENT_MANIFEST_KEY, parseManifest } from '../../../runtime/pipeline/manifest.js';

// Batch forecasts through local mode's endpoint, as `npm run forecast -- --all` runs them: 50
// customers trained once for the file.
const { bucket, endpointName } = LOCAL_DEFAULTS;
let dataDir: string;
let run: LocalModeRun;

test.before(async (t) => {
  t.timeout(420_000, 'training 50 customers; slow only on a crowded machine');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'batch-forecast-'));
  run = await startLocalMode({
    port: 0,
    dataDir,
    customers: 50,
    instances: 2,
    bucket,
    endpointName,
    scheduledTime: '2026-11-20T02:00:00Z',
    log: () => {},
    localAws: { stopGraceMs: 2000 },
  });
});

test.after.always(async () => {
  await run?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await forecastCli(args, { env: process.env, stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

test.serial('--all writes every customer in the manifest, one row per customer and day', async (t) => {
  t.timeout(180_000);
  const out = path.join(dataDir, 'f.csv');
  const result = await cli(['--all', '--period', '3', '--out', out]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /forecast 50\/50 customers × 3 days to .*f\.csv in \d+\.\d s \(\d+\.\d customers\/s\)\n$/);
  const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
  t.is(lines[0], 'customer_id,target_model,run_id,date,yhat,yhat_lower,yhat_upper');
  t.is(lines.length, 1 + 50 * 3);
  const rows = lines.slice(1).map((line) => line.split(','));
  t.deepEqual(new Set(rows.map((row) => row[0])), new Set(Object.keys(run.manifest.models)));
  for (const row of rows) {
    t.is(row[1], `${run.manifest.runId}/${row[0]}.tar.gz`);
    t.true(Number(row[5]) < Number(row[6]), `customer ${row[0]} ${row[3]}: interval ${row[5]}..${row[6]}`);
  }
});

test.serial('a customer whose model is missing is reported, the others are written, and the exit code is 1', async (t) => {
  t.timeout(180_000);
  const s3 = new S3Client({});
  t.teardown(() => s3.destroy());
  const current = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: CURRENT_MANIFEST_KEY }));
  const manifest = parseManifest(await current.Body!.transformToString());
  const broken = { ...manifest, models: { ...manifest.models, '7': { ...manifest.models['7']!, targetModel: `${manifest.runId}/7-missing.tar.gz` } } };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: CURRENT_MANIFEST_KEY, Body: JSON.stringify(broken) }));
  t.teardown(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: CURRENT_MANIFEST_KEY, Body: JSON.stringify(manifest) })));

  const out = path.join(dataDir, 'f.json');
  const result = await cli(['--customers', '5,7,9', '--period', '2', '--out', out]);
  t.is(result.code, 1);
  t.regex(result.stderr, /forecast 2\/3 customers × 2 days .*; 1 failed:\n {2}customer 7: E_INVOKE_FAILED customer 7: endpoint forecast-local failed for model \S+\/7-missing\.tar\.gz/);
  const written = JSON.parse(await readFile(out, 'utf8')) as { forecasts: { customerId: string; forecast: unknown[] }[]; failures: { customerId: string }[] };
  t.deepEqual(written.forecasts.map((f) => f.customerId).sort(), ['5', '9']);
  t.true(written.forecasts.every((f) => f.forecast.length === 2));
  t.deepEqual(written.failures.map((f) => f.customerId), ['7']);
});

test.serial('batch usage errors exit 2', async (t) => {
  t.regex((await cli(['--all'])).stderr, /\[--out\] must name a \.csv or \.json file/);
  t.regex((await cli(['--all', '--customer', '1'])).stderr, /exactly one of/);
  t.regex((await cli(['--customers', '1,,2', '--out', 'x.csv'])).stderr, /\[--customers\] must be comma-separated customer ids/);
  t.is((await cli(['--all', '--out', 'x.txt'])).code, 2);
});
