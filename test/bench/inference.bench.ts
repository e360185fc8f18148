/**
 * Inference benchmark: the real server in a child process, driven over loopback from this process.
 *
 *   npx tsx test/bench/inference.bench.ts [--quick] [--reps 3] [--models 1000] [--customers = models] [--seconds 5]
 *     [--concurrency 16] [--configs 1:model,2:model,0:model,1:1000] [--server dist|source]
 *
 * `--server dist` (the default) runs the server compiled as the image runs it
 * (`node dist/containers/cli.js serve`; local mode's compile, container-build.js); `source` runs containers/cli.ts
 * through tsx, whose loader costs ≈ 30 MB of RSS per thread.
 * `--quick`: 100 models, 0.5 s per phase (a few hundred requests: a smoke figure; the full run's 5 s
 * is the one to compare), 2 workers with the model's samples only.
 *
 * Each config is `<workers>:<uncertainty samples or "model">`. For each: start the server, load
 * `--models` models one at a time (load latency), read the server's RSS, then measure /ping
 * (the baseline: same server, same concurrency) and invoke {"period": 7} over every model in turn.
 * Models come from the training container's per-customer training; `--customers` distinct models
 * are each loaded under several names (every name is replayed separately, as SageMaker would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readModelDirectory } from '../../containers/shared/model-artifact.js';
import { initProphet, replayModel } from '../../containers/shared/prophet.js';
import { compiledContainerArgs } from '../../runtime/local/sagemaker/container-build.js';
import { removeModels, trainModels } from '../containers/inference-fixtures.js';
import { benchOptions, finishBench, repeat } from './harness.js';
import type { Figure } from './harness.js';

const { flags, values: given } = benchOptions({
  models: { type: 'string' },
  customers: { type: 'string' },
  seconds: { type: 'string' },
  concurrency: { type: 'string', default: '16' },
  configs: { type: 'string' },
  server: { type: 'string', default: 'dist' },
});
const values = {
  models: String(given.models ?? (flags.quick ? 100 : 1000)),
  seconds: String(given.seconds ?? (flags.quick ? 0.5 : 5)),
  concurrency: String(given.concurrency),
  configs: String(given.configs ?? (flags.quick ? '2:model' : '1:model,2:model,0:model,1:1000')),
  server: String(given.server),
};
const MODELS = Number(values.models);
// Every model name its own artifact by default: 1,000 distinct customers, not a few under many names.
const CUSTOMERS = Math.min(MODELS, Number(given.customers ?? MODELS));
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The server command: compiled like the image, or from source through tsx. */
function serverCommand(): string[] {
  if (values.server === 'source') return ['--import', 'tsx', `${ROOT}containers/cli.ts`];
  if (values.server !== 'dist') throw new Error(`--server must be dist or source; received ${values.server}`);
  return compiledContainerArgs(ROOT);
}
const SERVER = serverCommand();

interface Server {
  child: ChildProcess;
  host: string;
  port: number;
}

async function startServer(workers: string, samples: string): Promise<Server> {
  const args = [...SERVER, 'serve', '--port', '0', '--host', '127.0.0.1', '--workers', workers];
  if (samples !== 'model') args.push('--uncertainty-samples', samples);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const event = JSON.parse(line) as { event: string; url?: string };
    if (event.event === 'listening') {
      const url = new URL(event.url!);
      lines.on('line', () => {});
      return { child, host: url.hostname, port: Number(url.port) };
    }
  }
  throw new Error('the server exited before listening');
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function send(server: Server, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: server.host, port: server.port, method, path, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Run {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** `CONCURRENCY` closed-loop clients for `SECONDS`; each request is made by `next(i)`. */
async function closedLoop(server: Server, next: (i: number) => { method: string; path: string; body?: string }): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const { method, path, body } = next(counter++);
        const t0 = performance.now();
        const response = await send(server, method, path, body);
        latencies.push(performance.now() - t0);
        if (response.status !== 200) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

console.log(`training ${CUSTOMERS} customers for ${MODELS} model names...`);
const trained = await trainModels(CUSTOMERS, 'run-bench');
const dirs = [...trained.dirs.values()];
const names = Array.from({ length: MODELS }, (_, i) => `model-${i}`);

/** What one 7-day forecast costs in this process, by the number of samples behind its intervals. */
async function forecastCost(): Promise<string[]> {
  await initProphet();
  const doc = await readModelDirectory(dirs[0]!);
  const lines = ['| uncertainty samples | forecast(7) median ms | p90 ms |', '|---|---|---|'];
  for (const samples of [100, 200, 500, 1000]) {
    const model = replayModel(doc, { uncertaintySamples: samples });
    const times: number[] = [];
    const [warmup, timed] = flags.quick ? [20, 100] : [50, 250];
    for (let i = 0; i < warmup + timed; i++) {
      const t0 = performance.now();
      model.forecast(7);
      if (i >= warmup) times.push(performance.now() - t0);
    }
    model.free();
    times.sort((a, b) => a - b);
    lines.push(`| ${samples} | ${fmt(percentile(times, 50), 3)} | ${fmt(percentile(times, 90), 3)} |`);
  }
  return lines;
}
const costLines = await forecastCost();
for (const line of costLines) console.log(line);
const rows: string[] = [];
const figures: Figure[] = [];
try {
  for (const config of values.configs.split(',')) {
    const [workers = '2', samples = 'model'] = config.split(':');
    const label = `${workers} workers, ${samples === 'model' ? "the model's" : samples} samples`;
    const reps = await repeat(flags.reps, async () => {
    const server = await startServer(workers, samples);
    try {
      const pid = server.child.pid!;
      const rssStart = await rssMiB(pid);
      const loadLatencies: number[] = [];
      for (const [i, name] of names.entries()) {
        const t0 = performance.now();
        const response = await send(server, 'POST', '/models', JSON.stringify({ model_name: name, url: dirs[i % dirs.length] }));
        loadLatencies.push(performance.now() - t0);
        if (response.status !== 200) throw new Error(`load ${name}: ${response.status} ${response.text}`);
        if ((i + 1) % 250 === 0) process.stdout.write(`  [${config}] loaded ${i + 1}/${MODELS}\n`);
      }
      loadLatencies.sort((a, b) => a - b);
      const rssLoaded = await rssMiB(pid);
      const ping = await closedLoop(server, () => ({ method: 'GET', path: '/ping' }));
      const cpu0 = await cpuSeconds(pid);
      const invoke = await closedLoop(server, (i) => ({ method: 'POST', path: `/models/${names[i % names.length]}/invoke`, body: '{"period": 7}' }));
      const cpu1 = await cpuSeconds(pid);
      const rssEnd = await rssMiB(pid);
      rows.push(
        `| ${workers} | ${samples} | ${fmt(rssStart, 0)} | ${fmt(rssLoaded, 0)} | ${fmt(rssEnd, 0)} | ${fmt(percentile(loadLatencies, 50), 2)} / ${fmt(percentile(loadLatencies, 99), 2)} | ` +
          `${fmt(ping.perSecond, 0)} (p99 ${fmt(ping.p99)}) | ${fmt(invoke.perSecond, 0)} | ${fmt(invoke.p50)} / ${fmt(invoke.p99)} | ` +
          `${fmt(invoke.perSecond / ping.perSecond, 2)} | ${fmt(((cpu1 - cpu0) * 1000) / invoke.requests, 2)} | ${ping.errors + invoke.errors} |`,
      );
      console.log(rows.at(-1));
      return { loadP99: percentile(loadLatencies, 99), ping: ping.perSecond, invoke: invoke.perSecond, invokeP99: invoke.p99, rssLoaded, errors: ping.errors + invoke.errors };
    } finally {
      await stopServer(server);
    }
    });
    const pingName = `${label}: /ping (same server, same concurrency)`;
    figures.push(
      { name: `${label}: invoke {"period": 7} over ${MODELS} models`, unit: 'req/s', samples: reps.map((x) => x.invoke), better: 'higher', baseline: pingName },
      { name: pingName, unit: 'req/s', samples: reps.map((x) => x.ping), better: 'higher' },
      { name: `${label}: invoke p99`, unit: 'ms', samples: reps.map((x) => x.invokeP99), better: 'lower' },
      { name: `${label}: load p99 (one at a time)`, unit: 'ms', samples: reps.map((x) => x.loadP99), better: 'lower' },
      { name: `${label}: RSS with ${MODELS} models loaded`, unit: 'MiB', samples: reps.map((x) => x.rssLoaded), better: 'lower' },
      { name: `${label}: errors`, unit: 'responses', samples: reps.map((x) => x.errors), better: 'lower' },
    );
  }
} finally {
  await removeModels(trained);
  agent.destroy();
}

const summary = `${MODELS} models (${CUSTOMERS} distinct artifacts), concurrency ${CONCURRENCY}, ${SECONDS} s per phase, loads one at a time, server from ${values.server}`;
console.error(`\n${summary}`);
console.error('| workers | samples | RSS start MiB | RSS all loaded | RSS after invokes | load p50 / p99 ms | /ping req/s | invoke req/s | invoke p50 / p99 ms | invoke/ping | server CPU ms per invoke | errors |');
console.error('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.error(row);
console.error('\nforecast cost in one thread, one model trained with the training container defaults');
for (const line of costLines) console.error(line);
finishBench(flags, { bench: 'inference', figures, notes: [summary, ...costLines.slice(2).map((line) => `forecast cost in one thread ${line}`)] });
