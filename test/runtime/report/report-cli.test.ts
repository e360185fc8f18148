import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import test from 'ava';
import { startLocalAws, type LocalAws } from '../../../runtime/local/edge-server.js';
import { localSdkEnvironment } from '../../../runtime/local/main.js';
import { lastingReportKey } from '../../../runtime/pipeline/bucket-layout.js';
import { main as reportCli } from '../../../runtime/report/cli.js';
import type { NightSummary } from '../../../runtime/report/night-summary.js';
import { degradedNight, failedNight, goodNight } from '../pipeline/report-fixtures.js';

// Three nights' lasting reports in local S3, read through the real SDK as on AWS.
const BUCKET = 'forecast-report-test';
let dataDir: string;
let aws: LocalAws;
let env: NodeJS.ProcessEnv;
const good = goodNight();
const degraded = degradedNight();
const failed = failedNight();

test.before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'forecast-report-'));
  aws = await startLocalAws({ dataDir, port: 0 });
  env = { ...localSdkEnvironment(aws.endpointUrl), FORECAST_BUCKET: BUCKET };
  Object.assign(process.env, localSdkEnvironment(aws.endpointUrl));
  const s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const report of [good, degraded, failed]) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: lastingReportKey(report.runId), Body: JSON.stringify(report) }));
  }
  s3.destroy();
});

test.after.always(async () => {
  await aws?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await reportCli(args, { env, stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

test('a degraded night: decisions, the customers to look at with reasons, holdout error and the change since the night before', async (t) => {
  const { code, stdout } = await run(['--run', degraded.runId]);
  t.is(code, 0);
  t.regex(stdout, /^Run 20261128-0200: SUCCEEDED in 75\.0 s/);
  for (const step of degraded.steps) t.regex(stdout, new RegExp(`^  ${step.step} +${step.seconds.toFixed(1)} s$`, 'm'));
  t.regex(stdout, /^ {2}rejected +1 {3}\(\+1\)$/m);
  t.regex(stdout, /^ {2}accepted +2 {3}\(-2\)$/m);
  t.regex(stdout, /^ {2}1 +rejected E_GATE_BASELINE holdout MAE 3\.1 is 40% worse .* \(keeps the model of run 20261127-0200\)$/m);
  t.regex(stdout, /^ {2}2 +failed +E_MODEL_MISSING no model was written for this customer \(no model to serve\)$/m);
  t.regex(stdout, /^ {2}3 +dropped +E_NO_RECENT_DATA no rows in the last 90 days$/m);
  t.regex(stdout, /^ {2}1 +model of run 20261120-0200, 8 days old$/m);
  t.regex(stdout, /quarantined rows 12 of 1800 \(0\.67%\)/);
  t.regex(stdout, /^ {2}p50 +4\.80% {3}\(\+2\.70 pt\)$/m);
  t.regex(stdout, /^ {2}p90 +12\.00% {3}\(\+8\.60 pt\)$/m);
  t.regex(stdout, /^ {2}20261127-0200: succeeded in 60\.0 s \(this night \+15\.0 s\)$/m);
});

test('the latest night by default; a failed night says where it stopped and exits 1', async (t) => {
  const { code, stdout } = await run([]);
  t.is(code, 1);
  t.regex(stdout, /^Run 20261129-0200: FAILED/);
  t.regex(stdout, /error: JobFailedError: Training job forecast-x-train failed/);
  t.regex(stdout, /^ {2}training +20\.0 s {2}FAILED: Training job/m);
  t.regex(stdout, /none decided: the run stopped before validation/);
  t.regex(stdout, /no valid models/);
  t.regex(stdout, /20261128-0200: succeeded in/);
});

test('a good night as JSON: nothing to look at and no earlier report to compare with', async (t) => {
  const { code, stdout } = await run(['--run', good.runId, '--json']);
  t.is(code, 0);
  const summary = JSON.parse(stdout) as NightSummary;
  t.is(summary.runId, good.runId);
  t.deepEqual(summary.attention, []);
  t.is(summary.previous, undefined);
  t.is(summary.decisions?.accepted, 4);
  t.is(summary.holdoutError?.median, 0.021);
});

test('--html writes one self-contained page: inline SVG charts, no script, nothing fetched', async (t) => {
  const file = path.join(dataDir, 'degraded.html');
  const { code, stderr } = await run(['--run', degraded.runId, '--html', file]);
  t.is(code, 0);
  t.regex(stderr, /report page written to/);
  const html = await readFile(file, 'utf8');
  t.is(html.match(/<svg/g)?.length, 3, 'holdout error, decisions and steps');
  t.notRegex(html, /<script|<link|src=|url\(/i);
  t.regex(html, /E_GATE_BASELINE/);
});

test('usage errors and missing reports are explained', async (t) => {
  const bad = await run(['--run', '../../etc']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /\[--run\] must be a run id such as 20261126-0200/);
  const missing = await run(['--run', '20200101-0200']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /No report for run 20200101-0200 under s3:\/\/forecast-report-test\/reports\/; the latest runs are 20261127-0200, 20261128-0200, 20261129-0200/);
  const empty = await run(['--bucket', 'forecast-no-such-bucket']);
  t.is(empty.code, 1);
  t.regex(empty.stderr, /^report: /);
  const html = await run(['--html', 'page.txt']);
  t.is(html.code, 2);
});

