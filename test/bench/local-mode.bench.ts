/**
 * Local mode benchmark: `npm start -- --once` on the seed's data set, then the endpoint through the
 * real SDK and the forecast client.
 *
 *   npx tsx test/bench/local-mode.bench.ts [--quick] [--reps 3] [--customers 1000] [--instances 2] [--data-dir DIR]
 *     [--skip-start] [--requests 1000] [--cold 200] [--concurrency 16] [--seconds 5]
 *
 * 1. `npm start -- --once` in a child process on a fresh data folder: wall time, and the split into
 *    processing, training and publishing that it prints (target ≤ 30 s for 1000 customers, 2 instances,
 *    issue #13; end-to-end.bench.ts has every step's medians).
 * 2. On the same data, local mode in this process and the forecast client (real SDK, manifest cached):
 *    - baselines measured in the same run: S3 HeadBucket through the same edge server and SDK, and the
 *      inference container's own invoke route called directly over loopback;
 *    - warm invoke latency (model loaded), target p99 ≤ 30 ms;
 *    - cold invoke latency on a new endpoint with an empty model cache (download, unpack, load,
 *      answer), target p99 ≤ 100 ms: one new endpoint, asked in each repetition for `--cold` models
 *      it has never loaded (distinct across repetitions); its container's first request, of another
 *      model, is timed once on its own and given in the notes;
 *    - throughput at `--concurrency` over warm models, target ≥ 400 requests/s; the bare SDK's
 *      InvokeEndpoint at the same concurrency as baseline.
 * `--quick`: 50 customers, 100 requests per latency figure, 10 cold models, 0.5 s per throughput figure
 * (≈ 250 requests: a smoke figure; the full run's 5 s is the one to compare with the target).
 * `npm run bench` gives it the folder end-to-end.bench.ts published with `--skip-start` (step 1 is
 * end-to-end's figure, timed three times there), so step 2 serves those models.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pMap from 'p-map';
import { buildInvokeInput } from '../../runtime/client/forecast-wire.js';
import { createForecastClient } from '../../runtime/client/forecast-client.js';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { startLocalAws } from '../../runtime/local/edge-server.js';
import { compiledRunArgs } from '../../runtime/local/sagemaker/container-build.js';
import { LOCAL_DEFAULTS, localSdkEnvironment } from '../../runtime/local/main.js';
import { modelNameFor } from '../../runtime/local/runtime-api/model-cache.js';
import { benchOptions, finishBench, repeat } from './harness.js';
import type { Figure } from './harness.js';

const { flags, values: given } = benchOptions({
  customers: { type: 'string' },
  instances: { type: 'string', default: '2' },
  'data-dir': { type: 'string' },
  'skip-start': { type: 'boolean', default: false },
  requests: { type: 'string' },
  cold: { type: 'string' },
  concurrency: { type: 'string', default: '16' },
  seconds: { type: 'string' },
});
const values = {
  customers: String(given.customers ?? (flags.quick ? 50 : 1000)),
  instances: String(given.instances),
  'data-dir': given['data-dir'] as string | undefined,
  'skip-start': given['skip-start'] === true,
  requests: String(given.requests ?? (flags.quick ? 100 : 1000)),
  cold: String(given.cold ?? (flags.quick ? 10 : 200)),
  concurrency: String(given.concurrency),
  seconds: String(given.seconds ?? (flags.quick ? 0.5 : 5)),
};
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REQUESTS = Number(values.requests);
const COLD = Number(values.cold);
const CONCURRENCY = Number(values.concurrency);
const SECONDS = Number(values.seconds);
const { bucket, endpointName } = LOCAL_DEFAULTS;

interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

function line(name: string, s: Summary): string {
  return `${name.padEnd(34)} n=${String(s.n).padStart(5)}  p50 ${s.p50.toFixed(2).padStart(7)} ms  p90 ${s.p90.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  max ${s.max.toFixed(2).padStart(7)} ms`;
}

async function timeEach(count: number, work: (i: number) => Promise<unknown>): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await work(i);
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

/** Requests per second with `concurrency` callers for `seconds`. */
async function throughput(concurrency: number, seconds: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await work(next++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const dataDir = values['data-dir'] ? path.resolve(values['data-dir']) : await mkdtemp(path.join(os.tmpdir(), 'local-mode-bench-'));
const results: string[] = [];
const report = (text: string) => {
  results.push(text);
  console.error(text);
};

if (!values['skip-start']) {
  console.error(`npm start -- --once --customers ${values.customers} --instances ${values.instances} (data in ${dataDir}) ...`);
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...compiledRunArgs(ROOT, 'runtime/local/main.ts'), '--once', '--port', '0', '--data-dir', dataDir, '--customers', values.customers!, '--instances', values.instances!],
    { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 },
  );
  const wall = (performance.now() - started) / 1000;
  const timing = /^timing .*$/m.exec(stdout)?.[0] ?? '(no timing line)';
  report(`npm start -- --once, ${values.customers} customers, ${values.instances} instances: ${wall.toFixed(1)} s wall (target ≤ 30 s)`);
  report(`  ${timing}`);
}

let containerPort: number | undefined;
const aws = await startLocalAws({
  dataDir,
  port: 0,
  log: (text) => {
    const match = /\[(\S+)\] endpoint InService .* inference container on port (\d+)/.exec(text);
    if (match && match[1] === endpointName) containerPort = Number(match[2]);
  },
});
try {
  Object.assign(process.env, localSdkEnvironment(aws.endpointUrl));
  // A new endpoint over the same models starts with nothing on its disk or in its container. One
  // is enough: each repetition asks it for models it has never loaded, as a running endpoint meets
  // a customer whose model it holds nowhere. Its first invoke (a model outside every repetition's
  // set) is timed apart: a new container's first request, once. Its container starts beside the
  // served endpoint's and while the warm set loads (none of that is timed).
  const coldEndpoint = `forecast-bench-cold-${Date.now()}`;
  const coldReady = provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket, endpointName: coldEndpoint });
  coldReady.catch(() => {}); // awaited below; a failure of the served endpoint's provisioning comes first
  await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket, endpointName });
  const s3 = new S3Client({});
  const client = createForecastClient({ bucket, endpointName, s3, manifestTtlMs: 3_600_000 });
  const customers = Object.keys((await client.manifest()).models);
  const warmSet = customers.slice(0, Math.min(customers.length, 200));
  const entryOf = async (id: string) => (await client.entry(id))!;
  const coldPerRep = Math.min(COLD, Math.floor((customers.length - 1) / flags.reps));
  if (coldPerRep < 1) throw new Error(`cold invoke needs a model per repetition never loaded before: ${customers.length} customers published in ${dataDir}, ${flags.reps} reps`);
  const coldSets = Array.from({ length: flags.reps }, (_, rep) => customers.slice(customers.length - (rep + 1) * coldPerRep, customers.length - rep * coldPerRep));

  const runtime = new SageMakerRuntimeClient({});
  await pMap(warmSet, (id) => client.forecast(id, 7), { concurrency: CONCURRENCY });
  await coldReady;
  const coldClient = createForecastClient({ bucket, endpointName: coldEndpoint, s3, manifestTtlMs: 3_600_000 });
  await coldClient.manifest();
  const firstOnNewEndpoint = await timeEach(1, () => coldClient.forecast(customers[0]!, 7));
  report(line('first invoke on the new endpoint', firstOnNewEndpoint));
  const targets = await Promise.all(warmSet.map(async (id) => modelNameFor((await entryOf(id)).targetModel)));
  const inputs = await Promise.all(warmSet.map(async (id) => buildInvokeInput({ endpointName, targetModel: (await entryOf(id)).targetModel, period: 7 })));
  const reps = await repeat(flags.reps, async (rep) => {
    const head = await timeEach(REQUESTS, () => s3.send(new HeadBucketCommand({ Bucket: bucket })));
    report(line('baseline: S3 HeadBucket (SDK)', head));

    let direct: Summary | undefined;
    if (containerPort !== undefined) {
      const agent = new http.Agent({ keepAlive: true });
      direct = await timeEach(REQUESTS, (i) => post(agent, containerPort!, `/models/${targets[i % targets.length]}/invoke`, '{"period":7}'));
      report(line('baseline: container invoke (direct)', direct));
      agent.destroy();
    }
    const sdk = await timeEach(REQUESTS, (i) => runtime.send(new InvokeEndpointCommand(inputs[i % inputs.length]!)));
    report(line('warm InvokeEndpoint (bare SDK)', sdk));
    const warm = await timeEach(REQUESTS, (i) => client.forecast(warmSet[i % warmSet.length]!, 7));
    const ratio = direct ? `  p99 ×${(warm.p99 / direct.p99).toFixed(1)} container direct, ×${(warm.p99 / sdk.p99).toFixed(2)} bare SDK` : '';
    report(line('warm invoke (forecast client)', warm) + `${ratio}  (target p99 ≤ 30 ms)`);

    const coldSet = coldSets[rep]!;
    const cold = await timeEach(coldSet.length, (i) => coldClient.forecast(coldSet[i]!, 7));
    report(line('cold invoke (download+unpack+load)', cold) + `  ratio p99 vs warm ${(cold.p99 / warm.p99).toFixed(2)}  (target p99 ≤ 100 ms)`);

    const sdkRate = await throughput(CONCURRENCY, SECONDS, (i) => runtime.send(new InvokeEndpointCommand(inputs[i % inputs.length]!)));
    const rate = await throughput(CONCURRENCY, SECONDS, (i) => client.forecast(warmSet[i % warmSet.length]!, 7));
    report(
      `throughput at concurrency ${CONCURRENCY}: forecast client ${rate.toFixed(0)} req/s, bare SDK InvokeEndpoint ${sdkRate.toFixed(0)} req/s, ` +
        `ratio client/SDK ${(rate / sdkRate).toFixed(2)} (target ≥ 400 req/s)`,
    );
    return { head: head.p99, direct: direct?.p99, sdk: sdk.p99, warm: warm.p99, cold: cold.p99, rate, sdkRate };
  });
  const sagemaker = new SageMakerClient({});
  await sagemaker.send(new DeleteEndpointCommand({ EndpointName: coldEndpoint }));
  sagemaker.destroy();
  runtime.destroy();
  const p99 = (name: string, pick: (x: (typeof reps)[number]) => number | undefined, extra: Partial<Figure> = {}): Figure[] => {
    const samples = reps.map(pick).filter((v): v is number => v !== undefined);
    return samples.length === reps.length ? [{ name, unit: 'ms', samples, better: 'lower', ...extra }] : [];
  };
  const figures: Figure[] = [
    ...p99('warm invoke p99, forecast client', (x) => x.warm, { baseline: 'warm invoke p99, bare SDK InvokeEndpoint', target: '≤ 30 ms' }),
    ...p99('warm invoke p99, bare SDK InvokeEndpoint', (x) => x.sdk),
    ...p99('warm invoke p99, inference container direct', (x) => x.direct),
    ...p99('S3 HeadBucket p99 through the same edge', (x) => x.head),
    ...p99('cold invoke p99 (download, unpack, load)', (x) => x.cold, { baseline: 'warm invoke p99, forecast client', target: '≤ 100 ms' }),
    { name: `throughput at concurrency ${CONCURRENCY}, forecast client`, unit: 'req/s', samples: reps.map((x) => x.rate), better: 'higher', baseline: `throughput at concurrency ${CONCURRENCY}, bare SDK`, target: '≥ 400 req/s' },
    { name: `throughput at concurrency ${CONCURRENCY}, bare SDK`, unit: 'req/s', samples: reps.map((x) => x.sdkRate), better: 'higher' },
  ];
  finishBench(flags, { bench: 'local-mode', figures, notes: [`local mode invoke: ${customers.length} customers, ${REQUESTS} requests per latency figure, ${coldPerRep} cold models per rep (distinct in every rep, on one new endpoint; its first invoke, of another model, ${firstOnNewEndpoint.max.toFixed(0)} ms, is not among them)`] });
  s3.destroy();
} finally {
  await aws.close();
  if (!values['data-dir']) await rm(dataDir, { recursive: true, force: true });
}
console.error(`\n${results.join('\n')}`);

function post(agent: http.Agent, port: number, pathname: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`container answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
