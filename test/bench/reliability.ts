/**
 * Reliability at full scale (`npm run reliability`): local mode's multi-model endpoint under
 * sustained load through the forecast client (real SDK), with an inference memory budget that forces
 * eviction; then the inference container killed under load; then S3 answering 500/503 to a share of
 * SDK calls.
 *
 *   npm run reliability -- [--models 1000] [--seconds 60] [--concurrency 16] [--budget-mb 16]
 *     [--runs 3] [--baseline-seconds 10]
 *
 * `--models` distinct models are trained once per invocation by the training container (one noisy
 * weekly series each from runtime/dataset/generator.ts), kept in a temp folder for the runs and
 * removed at the end; each is its own S3 object and manifest entry. The container's budget
 * (`INFERENCE_MEMORY_BUDGET_MB`) holds a fraction of them (≈ 65 KB measured each), so the endpoint
 * unloads least recently used models on the container's 507s. Each run: a baseline (the same load
 * over as many models as fit the budget at two WebAssembly pages each, loaded first, so nothing
 * is evicted), then the load over every model. A request fails only with an error the client does not retry (it
 * retries ModelNotReadyException, the documented retryable one). Run it under
 * `flock -x /work/.bench.lock` on a shared machine.
 */
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3FaultSwitch } from '../../runtime/local/s3/fault-switch.js';
import { removeModels, trainModels } from '../containers/inference-fixtures.js';
import { BUCKET, containerPid, driveLoad, sdkClients, serveFleet, warmFleet, type Fleet, type LoadFigures } from '../reliability/endpoint-load.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    'baseline-seconds': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    'budget-mb': { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
  },
});
const MODELS = Number(values.models);
const SECONDS = Number(values.seconds);
const BASELINE_SECONDS = Number(values['baseline-seconds']);
const CONCURRENCY = Number(values.concurrency);
const BUDGET_BYTES = Math.round(Number(values['budget-mb']) * 1024 * 1024);
const RUNS = Number(values.runs);
const MiB = 1024 * 1024;

function row(name: string, figures: readonly LoadFigures[], pick: (f: LoadFigures) => number, digits = 1): string {
  const list = figures.map(pick).sort((a, b) => a - b);
  const median = list[Math.floor(list.length / 2)]!;
  return `| ${name} | ${median.toFixed(digits)} | ${list[0]!.toFixed(digits)} | ${list.at(-1)!.toFixed(digits)} |`;
}

function describe(f: LoadFigures): string {
  return (
    `${f.served} served, ${f.failed} failed, ${f.notReadyRetries} ModelNotReady retries, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, ` +
    `${f.refusals} × 507, ${f.unloads} unloads, ${f.recycles} threads replaced, peak measured ${(f.peakModelBytes / MiB).toFixed(2)} MiB ` +
    `(heap ${(f.peakParts.heapBytes / MiB).toFixed(1)}, WebAssembly ${(f.peakParts.wasmBytes / MiB).toFixed(1)}; ` +
    `${(f.peakMeasuredBytes / MiB).toFixed(1)} with the HTTP thread), RSS ${(f.peakRssBytes / MiB).toFixed(0)} MiB`
  );
}

async function main(): Promise<void> {
  console.log(`training ${MODELS} distinct models ...`);
  const started = performance.now();
  const models = await trainModels(MODELS, 'run-load');
  console.log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  try {
    const fitting = Math.min(MODELS, Math.floor(BUDGET_BYTES / (128 * 1024)));
    console.log(`${MODELS} models; inference memory budget ${(BUDGET_BYTES / MiB).toFixed(1)} MiB; baseline over ${fitting} models`);
    const baseline: LoadFigures[] = [];
    const load: LoadFigures[] = [];
    let killFigures: LoadFigures | undefined;
    let faultFigures = '';
    for (let run = 1; run <= RUNS; run++) {
      const faults = new S3FaultSwitch({ share: 0 });
      const fleet = await serveFleet(models, BUDGET_BYTES, faults);
      try {
        await warmFleet(fleet, fleet.customers.slice(0, fitting));
        const b = await driveLoad(fleet, { seconds: BASELINE_SECONDS, concurrency: CONCURRENCY, customers: fleet.customers.slice(0, fitting) });
        const l = await driveLoad(fleet, { seconds: SECONDS, concurrency: CONCURRENCY });
        baseline.push(b);
        load.push(l);
        console.log(`run ${run}: baseline ${describe(b)}\n       load ${describe(l)}`);
        for (const failure of [...b.failures, ...l.failures]) console.log(`  failure: ${failure}`);
        if (run === 1) {
          killFigures = await driveLoad(fleet, {
            seconds: Math.max(15, SECONDS / 4),
            concurrency: CONCURRENCY,
            during: async () => {
              await delay(3000);
              process.kill(await containerPid(fleet.dataDir), 'SIGKILL');
            },
          });
          console.log(`container killed under load: ${describe(killFigures)}`);
          for (const failure of killFigures.failures) console.log(`  failure: ${failure}`);
          faultFigures = await s3Faults(fleet, faults);
          console.log(faultFigures);
        }
      } finally {
        await fleet.close();
      }
    }
    console.log(`\nload average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`);
    console.log(`\n| figure (${RUNS} runs, ${CONCURRENCY} concurrent, ${SECONDS} s over ${MODELS} distinct models, budget ${(BUDGET_BYTES / MiB).toFixed(0)} MiB) | median | min | max |`);
    console.log('|---|---|---|---|');
    console.log(row(`baseline (${fitting} models, no eviction) invokes/s`, baseline, (f) => f.perSecond));
    console.log(row('baseline p50 ms', baseline, (f) => f.p50));
    console.log(row('baseline p99 ms', baseline, (f) => f.p99));
    console.log(row('baseline unloads', baseline, (f) => f.unloads, 0));
    console.log(row('load served', load, (f) => f.served, 0));
    console.log(row('load failed', load, (f) => f.failed, 0));
    console.log(row('load ModelNotReady retries (absorbed by the client)', load, (f) => f.notReadyRetries, 0));
    console.log(row('load 507 answers', load, (f) => f.refusals, 0));
    console.log(row('load unloads (evictions by the endpoint)', load, (f) => f.unloads, 0));
    console.log(row('load threads replaced', load, (f) => f.recycles, 0));
    console.log(row('load invokes/s', load, (f) => f.perSecond));
    console.log(row('load p50 ms', load, (f) => f.p50));
    console.log(row('load p99 ms', load, (f) => f.p99));
    console.log(row(`peak measured model memory MiB (budget ${(BUDGET_BYTES / MiB).toFixed(0)})`, load, (f) => f.peakModelBytes / MiB, 2));
    console.log(`runs whose peak measured model memory passed the budget: ${load.filter((f) => f.peakModelBytes > BUDGET_BYTES).length} of ${load.length}`);
    console.log(row('peak measured, with the HTTP thread heap, MiB', load, (f) => f.peakMeasuredBytes / MiB));
    console.log(row('container peak RSS MiB', load, (f) => f.peakRssBytes / MiB, 0));
    if (killFigures) console.log(`\ncontainer kill: ${killFigures.served} served, ${killFigures.failed} failed, ${killFigures.notReadyRetries} ModelNotReady retries`);
    console.log(faultFigures);
  } finally {
    await removeModels(models);
  }
}

/** 300 S3 calls through the SDK's default retries while 30% of requests fail with 500/503. */
async function s3Faults(fleet: Fleet, faults: S3FaultSwitch): Promise<string> {
  const { s3 } = sdkClients(fleet.aws.endpointUrl);
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
