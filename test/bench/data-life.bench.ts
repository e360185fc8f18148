/**
 * Data-life benchmark, in local mode with the real SDK:
 * 1. incremental retraining: after a first night on `--customers` customers, each repeat adds one
 *    new day for `--changed-share` of them (different customers each time) and runs a night that
 *    retrains only those, then a night that fully retrains the same data (FORECAST_FULL_RETRAIN, the
 *    baseline): wall time and models trained of each;
 * 2. cleanup: `--nights` more nights, each with new rows for the same share, under a
 *    `--retention-days` retention; what the nightly cleanup steps deleted (objects, bytes) and the
 *    bucket's size before and after.
 *
 *   npx tsx test/bench/data-life.bench.ts [--customers 1000] [--days 120] [--changed-share 0.01]
 *     [--repeats 3] [--nights 10] [--retention-days 3] [--instances 2]
 *
 * Every figure is printed with the median, min and max over the repeats and the load average.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { readPipelineConfig } from '../../runtime/config/pipeline-config.js';
import { PIPELINE_ENV } from '../../runtime/config/pipeline-env.js';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { startLocalAws } from '../../runtime/local/edge-server.js';
import { LOCAL_IMAGES } from '../../runtime/local/images.js';
import { runPipeline } from '../../runtime/pipeline/run-pipeline.js';
import { listObjects } from '../../runtime/pipeline/s3-objects.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '1000' },
    days: { type: 'string', default: '120' },
    'changed-share': { type: 'string', default: '0.01' },
    repeats: { type: 'string', default: '3' },
    nights: { type: 'string', default: '10' },
    'retention-days': { type: 'string', default: '3' },
    instances: { type: 'string', default: '2' },
  },
});
const CUSTOMERS = Number(values.customers);
const DAYS = Number(values.days);
const CHANGED = Math.max(1, Math.round(CUSTOMERS * Number(values['changed-share'])));
const REPEATS = Number(values.repeats);
const NIGHTS = Number(values.nights);
const BUCKET = 'forecast-bench';
const ENDPOINT = 'forecast-bench';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'data-life-bench-'));
const aws = await startLocalAws({ dataDir, port: 0 });
const clientConfig = { endpoint: aws.endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const deps = { s3: new S3Client({ ...clientConfig, forcePathStyle: true }), sagemaker: new SageMakerClient(clientConfig), runtime: new SageMakerRuntimeClient(clientConfig) };
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

try {
  await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket: BUCKET, endpointName: ENDPOINT });
  const rows = [...datasetChunks({ customers: CUSTOMERS, days: DAYS + REPEATS * 2 + NIGHTS + 1, noise: 0.02, weekly: 0.1 })].join('').trimEnd().split('\n').slice(1);
  const dates = [...new Set(rows.map((row) => row.split(',')[1]!))].sort();
  const put = (key: string, lines: readonly string[]) =>
    deps.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `customer_id,timestamp,consumption\n${lines.join('\n')}\n`, ContentType: 'text/csv' }));
  let nightNumber = 0;
  const night = async (overrides: Record<string, string> = {}) => {
    nightNumber += 1;
    const scheduled = new Date(Date.UTC(2026, 0, 1) + nightNumber * 86_400_000).toISOString();
    const config = readPipelineConfig({
      [PIPELINE_ENV.bucket]: BUCKET,
      [PIPELINE_ENV.sagemakerRoleArn]: 'arn:aws:iam::000000000000:role/forecast-bench',
      [PIPELINE_ENV.processingImage]: LOCAL_IMAGES.processing,
      [PIPELINE_ENV.trainingImage]: LOCAL_IMAGES.training,
      [PIPELINE_ENV.endpointName]: ENDPOINT,
      [PIPELINE_ENV.trainingInstanceCount]: values.instances,
      [PIPELINE_ENV.scheduledTime]: scheduled,
      ...overrides,
    });
    const started = performance.now();
    const result = await runPipeline({ config, deps, backoff: { minDelayMs: 200, maxDelayMs: 1000 } });
    return { seconds: (performance.now() - started) / 1000, trained: result.report.retraining?.trained ?? 0, report: result.report };
  };
  // One new day for a different slice of customers each time.
  let nextDay = DAYS;
  let nextCustomer = 0;
  const dropForChanged = async () => {
    const day = dates[nextDay++]!;
    const ids = new Set(Array.from({ length: CHANGED }, (_, i) => String((nextCustomer + i) % CUSTOMERS)));
    nextCustomer += CHANGED;
    await put(`raw/${day}.csv`, rows.filter((row) => row.split(',')[1] === day && ids.has(row.split(',')[0]!)));
  };

  await put('raw/0000-first.csv', rows.filter((row) => row.split(',')[1]! <= dates[DAYS - 1]!));
  const first = await night();
  console.log(`setup: first night trained ${first.trained} models in ${first.seconds.toFixed(1)} s (load ${load()})`);

  const incremental: { seconds: number; trained: number }[] = [];
  const full: { seconds: number; trained: number }[] = [];
  for (let r = 0; r < REPEATS; r++) {
    await dropForChanged();
    incremental.push(await night());
    console.log(`repeat ${r + 1}: incremental night ${incremental.at(-1)!.seconds.toFixed(1)} s, ${incremental.at(-1)!.trained} models (load ${load()})`);
    full.push(await night({ [PIPELINE_ENV.fullRetrain]: 'true' }));
    console.log(`repeat ${r + 1}: full retrain   ${full.at(-1)!.seconds.toFixed(1)} s, ${full.at(-1)!.trained} models (load ${load()})`);
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)})`;
  };
  console.log(`second night, ${CHANGED} of ${CUSTOMERS} customers changed: ${stats(incremental.map((n) => n.seconds))} s, models trained ${incremental.map((n) => n.trained).join('/')}`);
  console.log(`full retrain of the same data (baseline):  ${stats(full.map((n) => n.seconds))} s, models trained ${full.map((n) => n.trained).join('/')}`);

  const bucketSize = async () => {
    const objects = await listObjects(deps.s3, BUCKET, '');
    return { objects: objects.length, bytes: objects.reduce((sum, o) => sum + o.size, 0) };
  };
  const before = await bucketSize();
  let removedObjects = 0;
  let removedBytes = 0;
  for (let n = 0; n < NIGHTS; n++) {
    await dropForChanged();
    const { report } = await night({ [PIPELINE_ENV.retentionDays]: values['retention-days'] });
    removedObjects += report.cleanup?.removed.objects ?? 0;
    removedBytes += report.cleanup?.removed.bytes ?? 0;
  }
  const after = await bucketSize();
  console.log(
    `cleanup over ${NIGHTS} nights with a ${values['retention-days']}-day retention: ${removedObjects} objects, ${removedBytes} bytes deleted; ` +
      `bucket ${before.objects} objects/${before.bytes} bytes before, ${after.objects}/${after.bytes} after (load ${load()})`,
  );
} finally {
  await aws.close();
  await rm(dataDir, { recursive: true, force: true });
}
