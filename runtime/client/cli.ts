import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { PIPELINE_ENV } from '../config/pipeline-env.js';
import { startProgressBar } from '../console/progress-bar.js';
import { DEFAULT_BATCH_CONCURRENCY, forecastBatch, forecastsToCsv } from './batch-forecast.js';
import { createForecastClient, ForecastError } from './forecast-client.js';
import type { Forecast, ForecastClient } from './forecast-client.js';
import { ModelHistoryError, readModelHistory } from './model-history.js';
import { parseCliArgs, processIo, sdkClientConfig, type CliIo } from '../cli-io.js';

/** Local mode's names (DESIGN.md); the pipeline's variables override them, as on AWS. */
export const LOCAL_BUCKET = 'forecast-local';
export const LOCAL_ENDPOINT = 'forecast-local';

const USAGE = `Usage: npm run forecast -- --customer ID [options]
       npm run forecast -- --all | --customers ID,ID,... --out FILE.csv|FILE.json [options]

Asks the multi-model endpoint for a customer's forecast, resolving the customer's model from
manifests/current.json. AWS_ENDPOINT_URL decides where requests go (local mode: http://127.0.0.1:4566).

  --customer ID      one customer's forecast, printed
  --all              every customer in the manifest, written to --out
  --customers LIST   these customers (comma-separated ids), written to --out
  --out FILE         .csv (one row per customer and day) or .json; failures are listed on stderr
                     and make the exit code 1
  --concurrency N    requests in flight for --all/--customers (default ${DEFAULT_BATCH_CONCURRENCY})
  --period N         days ahead (default 7)
  --json             print the forecast as JSON instead of a table
  --plot FILE.svg    also draw the recent history, the forecast and its interval to an SVG file
  --history-days N   days of history in the plot (default 90, 0 for all)
  --bucket NAME      bucket with the manifest and models (default $${PIPELINE_ENV.bucket} or ${LOCAL_BUCKET})
  --endpoint NAME    multi-model endpoint (default $${PIPELINE_ENV.endpointName} or ${LOCAL_ENDPOINT})
  -h, --help         this text
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integerOption(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`[--${name}] must be an integer ≥ ${min}, got "${text}"`);
  }
  return value;
}

/** The forecast as a fixed-width table, one row per day. */
export function formatForecastTable(result: Forecast): string {
  const header = ['date', 'yhat', 'yhat_lower', 'yhat_upper'];
  const rows = result.forecast.map((p) => [p.date, p.yhat.toFixed(2), p.yhat_lower.toFixed(2), p.yhat_upper.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `customer ${result.customerId}, model ${result.targetModel} (run ${result.runId}), ${result.period} days`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}


export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const options = parseCliArgs('forecast', USAGE, io, () => parseOptions(args, io.env));
  if (typeof options === 'number') return options;
  const clientConfig = sdkClientConfig(io.env);
  const s3 = new S3Client(clientConfig);
  const runtime = new SageMakerRuntimeClient(clientConfig);
  try {
    const client = createForecastClient({
      bucket: options.bucket,
      endpointName: options.endpoint,
      s3,
      runtime,
      onModelNotReady: ({ targetModel, attempt }) => io.stderr(`model ${targetModel} is loading (attempt ${attempt}), retrying…\n`),
    });
    if (options.batch) return await runBatch(client, options.batch, options.period, io);
    const result = await client.forecast(options.customer, options.period);
    io.stdout(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatForecastTable(result)}\n`);
    if (options.plot) {
      const history = await readModelHistory({ s3, bucket: options.bucket, targetModel: result.targetModel });
      // Loaded for --plot only: vega costs ≈ 0.5 s of CPU to load, and `npm start` imports this module for its table.
      const { forecastPlotSpec, renderSvg } = await import('./plot.js');
      const spec = forecastPlotSpec({
        customerId: result.customerId,
        targetModel: result.targetModel,
        history,
        forecast: result.forecast,
        historyDays: options.historyDays,
      });
      await writeFile(options.plot, await renderSvg(spec));
      io.stderr(`plot written to ${options.plot}\n`);
    }
    return 0;
  } catch (error) {
    const known = error instanceof ForecastError || error instanceof ModelHistoryError;
    const message = known ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(`forecast: ${message}\n`);
    return 1;
  } finally {
    s3.destroy();
    runtime.destroy();
  }
}

interface BatchRequest {
  /** Undefined for every customer in the manifest. */
  readonly customers: string[] | undefined;
  readonly out: string;
  readonly concurrency: number;
}

/** `--all` / `--customers`: forecasts written to a file, a progress bar, failures listed; exit 1 if any. */
async function runBatch(client: ForecastClient, batch: BatchRequest, period: number, io: CliIo): Promise<number> {
  const started = Date.now();
  const customers = batch.customers ?? Object.keys((await client.manifest()).models);
  const bar = io.progress ? startProgressBar({ stream: io.progress, label: 'forecasts', unit: 'customers', total: customers.length }) : undefined;
  let result;
  try {
    result = await forecastBatch({
      client,
      customers,
      period,
      concurrency: batch.concurrency,
      onProgress: (done, failed) => bar?.update({ done, status: failed > 0 ? `${failed} failed` : '' }),
    });
  } finally {
    bar?.stop();
  }
  const { forecasts, failures } = result;
  const body = batch.out.endsWith('.json') ? `${JSON.stringify({ period, forecasts, failures }, null, 2)}\n` : forecastsToCsv(forecasts);
  await writeFile(batch.out, body);
  const seconds = (Date.now() - started) / 1000;
  io.stderr(
    `forecast ${forecasts.length}/${customers.length} customers × ${period} days to ${batch.out} in ${seconds.toFixed(1)} s ` +
      `(${(customers.length / Math.max(seconds, 1e-3)).toFixed(1)} customers/s)${failures.length > 0 ? `; ${failures.length} failed:` : ''}\n`,
  );
  for (const failure of failures) io.stderr(`  customer ${failure.customerId}: ${failure.code} ${failure.message}\n`);
  return failures.length > 0 ? 1 : 0;
}

function parseOptions(args: readonly string[], env: NodeJS.ProcessEnv) {
  const { values } = parseArgs({
    args: [...args],
    options: {
      customer: { type: 'string' },
      all: { type: 'boolean', default: false },
      customers: { type: 'string' },
      out: { type: 'string' },
      concurrency: { type: 'string' },
      period: { type: 'string' },
      json: { type: 'boolean', default: false },
      plot: { type: 'string' },
      'history-days': { type: 'string' },
      bucket: { type: 'string' },
      endpoint: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help' as const;
  const customer = values.customer?.trim() ?? '';
  const modes = [customer !== '', values.all, values.customers !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give exactly one of [--customer] ID, [--all] or [--customers] ID,ID,...');
  let batch: BatchRequest | undefined;
  if (customer === '') {
    const out = values.out ?? '';
    if (!/\.(csv|json)$/.test(out)) throw new UsageError(`[--out] must name a .csv or .json file for --all or --customers, got "${out}"`);
    if (values.json || values.plot !== undefined) throw new UsageError('[--json] and [--plot] are for one --customer; --out FILE.json writes JSON');
    const customers = values.customers?.split(',').map((id) => id.trim());
    if (customers && customers.some((id) => id === '')) throw new UsageError(`[--customers] must be comma-separated customer ids, got "${values.customers}"`);
    batch = { customers: customers && [...new Set(customers)], out, concurrency: integerOption('concurrency', values.concurrency, DEFAULT_BATCH_CONCURRENCY, 1) };
  }
  if (values.plot !== undefined && !values.plot.endsWith('.svg')) {
    throw new UsageError(`[--plot] must name an .svg file, got "${values.plot}"`);
  }
  return {
    customer,
    batch,
    period: integerOption('period', values.period, 7, 1),
    json: values.json,
    plot: values.plot,
    historyDays: integerOption('history-days', values['history-days'], 90, 0),
    bucket: values.bucket ?? env[PIPELINE_ENV.bucket] ?? LOCAL_BUCKET,
    endpoint: values.endpoint ?? env[PIPELINE_ENV.endpointName] ?? LOCAL_ENDPOINT,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
