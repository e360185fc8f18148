/**
 * Sustained load on local mode's multi-model endpoint through the real client: one distinct trained
 * artifact per customer, a manifest naming them, the inference container's memory budget set by the
 * model's environment, and `concurrency` callers asking the forecast client (real SDK, its
 * ModelNotReadyException retry) for random customers. Shared by the load test (small) and
 * `npm run reliability` (full scale).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pMap from 'p-map';
import { createForecastClient } from '../../runtime/client/forecast-client.js';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { startLocalAws, type LocalAws } from '../../runtime/local/edge-server.js';
import type { S3FaultSwitch } from '../../runtime/local/s3/fault-switch.js';
import { CURRENT_MANIFEST_KEY, parseManifest, targetModelName, type Manifest } from '../../runtime/pipeline/manifest.js';
import type { TrainedModels } from '../containers/inference-fixtures.js';

export const BUCKET = 'forecast-local';
export const ENDPOINT = 'forecast-local';
const RUN_ID = 'run-load';
const MiB = 1024 * 1024;

/** What the inference container said about its memory and models, from its JSON log lines. */
export class ContainerWatch {
  /** Highest measured model memory (the model threads, what the budget rules), and with the HTTP thread's heap, seen on a load or unload line. */
  peakModelBytes = 0;
  peakMeasuredBytes = 0;
  /** The model threads' heap and WebAssembly parts of the highest measured model memory. */
  peakParts = { heapBytes: 0, wasmBytes: 0 };
  /** Models unloaded (the endpoint's evictions), loads refused with 507, threads replaced. */
  unloads = 0;
  refusals = 0;
  recycles = 0;
  readonly lines: string[] = [];

  reset(): void {
    this.peakModelBytes = 0;
    this.peakParts = { heapBytes: 0, wasmBytes: 0 };
    this.peakMeasuredBytes = 0;
    this.unloads = 0;
    this.refusals = 0;
    this.recycles = 0;
  }

  hear(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 200) this.lines.shift();
    const json = line.indexOf('{"time"');
    if (json < 0) return;
    let event: { event?: string; code?: string; modelMemoryBytes?: number; heapBytes?: number; wasmBytes?: number; mainHeapBytes?: number };
    try {
      event = JSON.parse(line.slice(json)) as typeof event;
    } catch {
      return;
    }
    // Load and unload lines carry the measured figure; `listening` carries the budget under the same name.
    if (typeof event.modelMemoryBytes === 'number' && event.event !== 'listening') {
      if (event.modelMemoryBytes > this.peakModelBytes) this.peakParts = { heapBytes: event.heapBytes ?? 0, wasmBytes: event.wasmBytes ?? 0 };
      this.peakModelBytes = Math.max(this.peakModelBytes, event.modelMemoryBytes);
      this.peakMeasuredBytes = Math.max(this.peakMeasuredBytes, event.modelMemoryBytes + (event.mainHeapBytes ?? 0));
    }
    if (event.event === 'model-unloaded') this.unloads++;
    if (event.event === 'model-load-failed' && event.code === 'E_INSUFFICIENT_MEMORY') this.refusals++;
    if (event.event === 'thread-recycled') this.recycles++;
  }
}

export interface Fleet {
  aws: LocalAws;
  dataDir: string;
  customers: string[];
  budgetBytes: number;
  watch: ContainerWatch;
  close(): Promise<void>;
}

export function sdkClients(endpointUrl: string) {
  const config = { endpoint: endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), runtime: new SageMakerRuntimeClient(config) };
}

/** Local mode serving every trained model under its own key, with the container's model memory budget. */
export async function serveFleet(models: TrainedModels, budgetBytes: number, s3Faults?: S3FaultSwitch): Promise<Fleet> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'endpoint-load-'));
  const watch = new ContainerWatch();
  const aws = await startLocalAws({ dataDir, port: 0, stopGraceMs: 2000, s3Faults, log: (line) => watch.hear(line) });
  try {
    await provisionLocalStack({
      endpointUrl: aws.endpointUrl,
      bucket: BUCKET,
      endpointName: ENDPOINT,
      modelEnvironment: { INFERENCE_MEMORY_BUDGET_MB: String(budgetBytes / MiB) },
    });
    const { s3 } = sdkClients(aws.endpointUrl);
    const customers = [...models.archives.keys()];
    await pMap(customers, async (id) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `models/${targetModelName(RUN_ID, id)}`, Body: await readFile(models.archives.get(id)!) })), { concurrency: 16 });
    const manifest: Manifest = {
      formatVersion: 1,
      runId: RUN_ID,
      publishedAt: new Date().toISOString(),
      endpointName: ENDPOINT,
      models: Object.fromEntries(customers.map((id) => [id, { targetModel: targetModelName(RUN_ID, id), runId: RUN_ID, trainedAt: new Date().toISOString(), metrics: {} }])),
    };
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: CURRENT_MANIFEST_KEY, Body: JSON.stringify(parseManifest(manifest)) }));
    s3.destroy();
    return {
      aws,
      dataDir,
      customers,
      budgetBytes,
      watch,
      async close() {
        await aws.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await aws.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The inference container's process id, from the pid file local SageMaker writes. */
export async function containerPid(dataDir: string): Promise<number> {
  const configDir = path.join(dataDir, 'endpoints', ENDPOINT);
  const config = (await readdir(configDir))[0] ?? '';
  return Number((await readFile(path.join(configDir, config, 'container.pid'), 'utf8')).trim());
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export interface LoadFigures {
  served: number;
  failed: number;
  /** ModelNotReadyException answers the client retried (the documented retryable error). */
  notReadyRetries: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Measured by the server at its highest: the model threads above their start (what the budget rules)... */
  peakModelBytes: number;
  /** Its heap and WebAssembly parts. */
  peakParts: { heapBytes: number; wasmBytes: number };
  /** ...and with the HTTP thread's heap above its start. */
  peakMeasuredBytes: number;
  /** The container process's resident memory at its highest (sampled every 250 ms), for comparison. */
  peakRssBytes: number;
  unloads: number;
  refusals: number;
  recycles: number;
  failures: string[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Asks once for each customer's forecast (16 at a time), so a baseline that follows measures loaded models only. */
export async function warmFleet(fleet: Fleet, customers: readonly string[]): Promise<void> {
  const { s3, runtime } = sdkClients(fleet.aws.endpointUrl);
  const client = createForecastClient({ bucket: BUCKET, endpointName: ENDPOINT, s3, runtime });
  await pMap(customers, (customer) => client.forecast(customer, 7), { concurrency: 16 });
  s3.destroy();
  runtime.destroy();
}

/**
 * `concurrency` callers asking for random customers' 7-day forecasts for `seconds`; `during` runs
 * alongside (fault injection). With `until`, the load goes on past `seconds` until it holds or
 * `maxSeconds` have passed, so a test's condition does not depend on how fast a crowded machine runs.
 */
export async function driveLoad(
  fleet: Fleet,
  o: { seconds: number; concurrency: number; customers?: readonly string[]; during?: () => Promise<void>; until?: () => boolean; maxSeconds?: number },
): Promise<LoadFigures> {
  const customers = o.customers ?? fleet.customers;
  const { s3, runtime } = sdkClients(fleet.aws.endpointUrl);
  let notReadyRetries = 0;
  const client = createForecastClient({ bucket: BUCKET, endpointName: ENDPOINT, s3, runtime, onModelNotReady: () => notReadyRetries++ });
  const latencies: number[] = [];
  const failures: string[] = [];
  fleet.watch.reset();
  let peakRss = 0;
  const started = performance.now();
  const minimumEnd = Date.now() + o.seconds * 1000;
  const maximumEnd = Date.now() + Math.max(o.seconds, o.maxSeconds ?? 0) * 1000;
  const driving = () => {
    const now = Date.now();
    return now < minimumEnd || (o.until !== undefined && !o.until() && now < maximumEnd);
  };
  const sampler = (async () => {
    while (driving()) {
      peakRss = Math.max(peakRss, await rssBytes(await containerPid(fleet.dataDir).catch(() => 0)));
      await delay(250);
    }
  })();
  const callers = Array.from({ length: o.concurrency }, async () => {
    while (driving()) {
      const customer = customers[Math.floor(Math.random() * customers.length)]!;
      const t0 = performance.now();
      try {
        const forecast = await client.forecast(customer, 7);
        if (forecast.forecast.length !== 7) throw new Error(`${forecast.forecast.length} days answered for 7`);
        latencies.push(performance.now() - t0);
      } catch (error) {
        failures.push(`customer ${customer}: ${(error as Error).name}: ${(error as Error).message.slice(0, 300)}`);
      }
    }
  });
  await Promise.all([...callers, sampler, o.during?.()]);
  const elapsed = (performance.now() - started) / 1000;
  s3.destroy();
  runtime.destroy();
  latencies.sort((a, b) => a - b);
  return {
    served: latencies.length,
    failed: failures.length,
    notReadyRetries,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    peakModelBytes: fleet.watch.peakModelBytes,
    peakParts: fleet.watch.peakParts,
    peakMeasuredBytes: fleet.watch.peakMeasuredBytes,
    peakRssBytes: peakRss,
    unloads: fleet.watch.unloads,
    refusals: fleet.watch.refusals,
    recycles: fleet.watch.recycles,
    failures: failures.slice(0, 5),
  };
}
