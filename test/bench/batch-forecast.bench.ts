/**
 * Batch forecast benchmark: `npm run forecast -- --all` through local mode's endpoint.
 *
 *   npx tsx test/bench/batch-forecast.bench.ts [--customers 1000] [--concurrency 8] [--period 7] [--data-dir DIR] [--quick] [--reps N]
 *
 * Starts local mode on DIR (a folder with published models is served at once; an empty one is
 * trained first), warms every model once, then times the CLI's batch path at `--concurrency` and,
 * as baseline on the same models, one request at a time (concurrency 1): customers per second.
 * `--quick`: 30 customers. `npm run bench` passes the folder end-to-end.bench.ts just published
 * (50 customers with `--quick`, 1,000 without), so this bench trains nothing there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { main as forecastCli } from '../../runtime/client/cli.js';
import { LOCAL_DEFAULTS, startLocalMode } from '../../runtime/local/main.js';
import { benchOptions, finishBench, repeat } from './harness.js';

const { flags, values } = benchOptions({
  customers: { type: 'string', default: '1000' },
  concurrency: { type: 'string', default: '8' },
  period: { type: 'string', default: '7' },
  'data-dir': { type: 'string' },
});
const dataDirOption = values['data-dir'] as string | undefined;
const dataDir = dataDirOption ?? (await mkdtemp(path.join(os.tmpdir(), 'batch-bench-')));
const out = path.join(dataDir, 'bench-forecasts.csv');
const concurrency = String(values.concurrency);

const run = await startLocalMode({
  port: 0,
  dataDir,
  customers: flags.quick ? 30 : Number(values.customers),
  instances: 2,
  bucket: LOCAL_DEFAULTS.bucket,
  endpointName: LOCAL_DEFAULTS.endpointName,
  log: (line) => process.stderr.write(`${line}\n`),
  serviceLog: () => {},
  localAws: { stopGraceMs: 2000 },
});
const customers = Object.keys(run.manifest.models).length;

/** Customers per second of one `--all` run. */
async function once(withConcurrency: string): Promise<number> {
  const started = process.hrtime.bigint();
  let stderr = '';
  const code = await forecastCli(['--all', '--period', String(values.period), '--concurrency', withConcurrency, '--out', out], {
    env: process.env,
    stdout: () => {},
    stderr: (text) => (stderr += text),
  });
  if (code !== 0) throw new Error(`forecast --all exited ${code}: ${stderr}`);
  return customers / (Number(process.hrtime.bigint() - started) / 1e9);
}

try {
  await once(concurrency);
  const batch = await repeat(flags.reps, () => once(concurrency));
  const sequential = await repeat(flags.reps, () => once('1'));
  finishBench(flags, {
    bench: 'batch-forecast',
    figures: [
      { name: 'one request at a time', unit: 'customers/s', samples: sequential, better: 'higher' },
      { name: `--all --concurrency ${concurrency}`, unit: 'customers/s', samples: batch, better: 'higher', baseline: 'one request at a time' },
    ],
    notes: [`${customers} customers × ${String(values.period)} days through ${LOCAL_DEFAULTS.endpointName}, models warm (each forecast once before the timed runs)`],
  });
} finally {
  await run.close();
  if (!dataDirOption) await rm(dataDir, { recursive: true, force: true });
}
