/**
 * Reliability at full scale (`npm run reliability`): local mode's multi-model endpoint under
 * sustained load, through the real SDK, with a model budget that forces eviction; then the
 * inference container killed under load; then S3 answering 500/503 to a share of SDK calls.
 *
 *   npm run reliability -- [--models 1000] [--customers 50] [--seconds 60] [--concurrency 16]
 *     [--budget-share 0.25] [--runs 3] [--baseline-seconds 10]
 *
 * `--customers` distinct models are trained by the training container and each is stored under
 * `--models / --customers` keys, so the endpoint holds `--models` separately loaded models (as an
 * MME would: a name is a model). The budget is `--budget-share` of all models' unpacked bytes.
 * Each run: a baseline (the same load over as many models as fit the budget, no eviction), then
 * the load over every model. A request fails only with an error that is not ModelNotReadyException
 * (the documented retryable one, retried every 200 ms as the forecast client does).
 * Run it under `flock -x /work/.bench.lock` on a shared machine.
 */
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, ModelNotReadyException, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { startLocalAws, type LocalAws } from '../../runtime/local/edge-server.js';
import { S3FaultSwitch } from '../../runtime/local/s3/fault-switch.js';
import { removeModels, trainModels } from '../containers/inference-fixtures.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '1000' },
    customers: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    'baseline-seconds': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    'budget-share': { type: 'string', default: '0.25' },
    runs: { type: 'string', default: '3' },
  },
});
const MODELS = Number(values.models);
const CUSTOMERS = Number(values.customers);
const SECONDS = Number(values.seconds);
const BASELINE_SECONDS = Number(values['baseline-seconds']);
const CONCURRENCY = Number(values.concurrency);
const BUDGET_SHARE = Number(values['budget-share']);
const RUNS = Number(values.runs);
const BUCKET = 'forecast-local';
const ENDPOINT = 'forecast-local';
const MiB = 1024 * 1024;

interface LoadFigures {
  served: number;
  failed: number;
  notReadyRetries: number;
  perSecond: number;
  p50: number;
  p99: number;
  peakRssMiB: number;
  failures: string[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function sdk(endpointUrl: string) {
  const config = { endpoint: endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), runtime: new SageMakerRuntimeClient(config) };
}

async function containerPid(dataDir: string): Promise<number> {
  const configDir = path.join(dataDir, 'endpoints', ENDPOINT);
  const config = (await readdir(configDir))[0] ?? '';
  return Number((await readFile(path.join(configDir, config, 'container.pid'), 'utf8')).trim());
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** `concurrency` workers invoking random targets for `seconds`; `during` runs alongside (fault injection). */
async function drive(aws: LocalAws, dataDir: string, targets: readonly string[], seconds: number, during?: () => Promise<void>): Promise<LoadFigures> {
  const { runtime } = sdk(aws.endpointUrl);
  const latencies: number[] = [];
  const failures: string[] = [];
  let notReadyRetries = 0;
  let peakRss = 0;
  const deadline = Date.now() + seconds * 1000;
  const sampler = (async () => {
    while (Date.now() < deadline) {
      peakRss = Math.max(peakRss, await rssBytes(await containerPid(dataDir).catch(() => 0)));
      await delay(250);
    }
  })();
  const body = new TextEncoder().encode('{"period": 7}');
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < deadline) {
      const target = targets[Math.floor(Math.random() * targets.length)] as string;
      const started = performance.now();
      for (;;) {
        try {
          await runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetModel: target, ContentType: 'application/json', Body: body }));
          latencies.push(performance.now() - started);
          break;
        } catch (error) {
          if (error instanceof ModelNotReadyException) {
            notReadyRetries++;
            await delay(200);
            continue;
          }
          failures.push(`${target}: ${(error as Error).name}: ${(error as Error).message.slice(0, 200)}`);
          break;
        }
      }
    }
  });
  await Promise.all([...workers, sampler, during?.()]);
  runtime.destroy();
  latencies.sort((a, b) => a - b);
  return {
    served: latencies.length,
    failed: failures.length,
    notReadyRetries,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    peakRssMiB: peakRss / MiB,
    failures: failures.slice(0, 5),
  };
}

/** Loads each target once, so the baseline measures warm models only. */
async function warm(aws: LocalAws, targets: readonly string[]): Promise<void> {
  const { runtime } = sdk(aws.endpointUrl);
  const body = new TextEncoder().encode('{"period": 7}');
  for (const target of targets) await runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetModel: target, ContentType: 'application/json', Body: body }));
  runtime.destroy();
}

async function startServing(budgetBytes: number, archives: Map<string, string>): Promise<{ aws: LocalAws; dataDir: string; targets: string[]; faults: S3FaultSwitch }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'i9-reliability-'));
  const faults = new S3FaultSwitch({ share: 0 });
  const aws = await startLocalAws({ dataDir, port: 0, modelMemoryBudgetBytes: budgetBytes, stopGraceMs: 2000, s3Faults: faults });
  await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket: BUCKET, endpointName: ENDPOINT });
  const { s3 } = sdk(aws.endpointUrl);
  const targets: string[] = [];
  const copies = Math.ceil(MODELS / archives.size);
  for (const [customerId, archive] of archives) {
    const bytes = await readFile(archive);
    for (let copy = 0; copy < copies && targets.length < MODELS; copy++) {
      const target = `run-${copy}/${customerId}.tar.gz`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `models/${target}`, Body: bytes }));
      targets.push(target);
    }
  }
  s3.destroy();
  return { aws, dataDir, targets, faults };
}

function row(name: string, figures: readonly LoadFigures[], pick: (f: LoadFigures) => number, digits = 1): string {
  const list = figures.map(pick).sort((a, b) => a - b);
  const median = list[Math.floor(list.length / 2)] as number;
  return `| ${name} | ${median.toFixed(digits)} | ${(list[0] as number).toFixed(digits)} | ${(list.at(-1) as number).toFixed(digits)} |`;
}

async function main(): Promise<void> {
  console.log(`training ${CUSTOMERS} distinct models ...`);
  const models = await trainModels(CUSTOMERS, 'run-0');
  try {
    const unpacked = await Promise.all([...models.dirs.values()].map(async (dir) => (await readFile(path.join(dir, 'model.json'))).length));
    const perModel = unpacked.reduce((a, b) => a + b, 0) / unpacked.length;
    const budgetBytes = Math.round(perModel * MODELS * BUDGET_SHARE);
    const fitting = Math.max(1, Math.floor(budgetBytes / perModel) - 1);
    console.log(`${MODELS} models of ≈ ${(perModel / 1024).toFixed(0)} KiB unpacked; budget ${(budgetBytes / MiB).toFixed(1)} MiB (≈ ${fitting} models) forces eviction`);
    const baseline: LoadFigures[] = [];
    const load: LoadFigures[] = [];
    let killFigures: LoadFigures | undefined;
    let faultFigures = '';
    for (let run = 1; run <= RUNS; run++) {
      const serving = await startServing(budgetBytes, models.archives);
      try {
        const idle = await rssBytes(await containerPid(serving.dataDir));
        await warm(serving.aws, serving.targets.slice(0, fitting));
        const b = await drive(serving.aws, serving.dataDir, serving.targets.slice(0, fitting), BASELINE_SECONDS);
        const l = await drive(serving.aws, serving.dataDir, serving.targets, SECONDS);
        baseline.push(b);
        load.push(l);
        console.log(
          `run ${run}: baseline ${b.served} served, ${b.failed} failed, p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms; ` +
            `load ${l.served} served, ${l.failed} failed, ${l.notReadyRetries} ModelNotReady retries, p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, ` +
            `container RSS idle ${(idle / MiB).toFixed(0)} MiB, peak ${l.peakRssMiB.toFixed(0)} MiB (model budget ${(budgetBytes / MiB).toFixed(1)} MiB)`,
        );
        for (const failure of l.failures) console.log(`  failure: ${failure}`);
        if (run === 1) {
          killFigures = await drive(serving.aws, serving.dataDir, serving.targets, Math.max(15, SECONDS / 4), async () => {
            await delay(3000);
            process.kill(await containerPid(serving.dataDir), 'SIGKILL');
          });
          console.log(`container killed under load: ${killFigures.served} served, ${killFigures.failed} failed, ${killFigures.notReadyRetries} ModelNotReady retries`);
          for (const failure of killFigures.failures) console.log(`  failure: ${failure}`);
          faultFigures = await s3Faults(serving.aws, serving.faults);
          console.log(faultFigures);
        }
      } finally {
        await serving.aws.close();
        await rm(serving.dataDir, { recursive: true, force: true });
      }
    }
    console.log(`\nload average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`);
    console.log(`\n| figure (${RUNS} runs, ${CONCURRENCY} concurrent, ${SECONDS} s over ${MODELS} models) | median | min | max |`);
    console.log('|---|---|---|---|');
    console.log(row('baseline (no eviction) invokes/s', baseline, (f) => f.perSecond));
    console.log(row('baseline p50 ms', baseline, (f) => f.p50));
    console.log(row('baseline p99 ms', baseline, (f) => f.p99));
    console.log(row('load served', load, (f) => f.served, 0));
    console.log(row('load failed', load, (f) => f.failed, 0));
    console.log(row('load ModelNotReady retries', load, (f) => f.notReadyRetries, 0));
    console.log(row('load invokes/s', load, (f) => f.perSecond));
    console.log(row('load p50 ms', load, (f) => f.p50));
    console.log(row('load p99 ms', load, (f) => f.p99));
    console.log(row('container peak RSS MiB', load, (f) => f.peakRssMiB, 0));
    if (killFigures) console.log(`\ncontainer kill: ${killFigures.served} served, ${killFigures.failed} failed`);
    console.log(faultFigures);
  } finally {
    await removeModels(models);
  }
}

/** 300 S3 calls through the SDK's default retries while 30% of requests fail with 500/503. */
async function s3Faults(aws: LocalAws, faults: S3FaultSwitch): Promise<string> {
  const { s3 } = sdk(aws.endpointUrl);
  faults.share = 0.3;
  let failed = 0;
  for (let i = 0; i < 150; i++) {
    try {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `faults/${i}`, Body: `${i}` }));
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `faults/${i}` }));
      if ((await got.Body?.transformToString()) !== `${i}`) failed++;
    } catch {
      failed++;
    }
  }
  s3.destroy();
  faults.share = 0;
  return `S3 faults: 300 SDK calls (PUT then GET) at a 30% fault share: ${faults.injected[500]} × 500 and ${faults.injected[503]} × 503 injected, ${failed} calls failed`;
}

await main();
