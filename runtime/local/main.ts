import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { formatForecastTable } from '../client/cli.js';
import { createForecastClient } from '../client/forecast-client.js';
import type { Forecast } from '../client/forecast-client.js';
import { readPipelineConfig, PIPELINE_CONFIG_DEFAULTS } from '../config/pipeline-config.js';
import { PIPELINE_ENV } from '../config/pipeline-env.js';
import { datasetChunks, DEFAULT_DATASET_OPTIONS, datasetRowCount, resolveDatasetOptions } from '../dataset/generator.js';
import { formatPipelineEvent, runPipeline } from '../pipeline/run-pipeline.js';
import type { PipelineEvent, PipelineResult } from '../pipeline/run-pipeline.js';
import type { PipelineStep } from '../pipeline/report.js';
import { provisionLocalStack } from './bootstrap.js';
import { startLocalAws } from './edge-server.js';
import type { LocalAwsOptions } from './edge-server.js';
import { LOCAL_IMAGES } from './images.js';
import { checkNightlyCron, DEFAULT_NIGHTLY_CRON, scheduleNightly } from './nightly.js';

/**
 * `npm start`: local mode's main job. Starts the edge server (S3, SageMaker, SageMaker Runtime on one
 * port), provisions the bucket and the multi-model endpoint through the SDK, writes the seed's data
 * set into `raw/` when there is none, runs the nightly pipeline once in this process, shows sample
 * forecasts through the forecast client, and keeps serving until Ctrl-C. The pipeline and the client
 * are AWS's code paths: only the SDK's environment points them here.
 */

export const LOCAL_DEFAULTS = {
  port: 4566,
  host: '127.0.0.1',
  dataDir: '.local',
  bucket: 'forecast-local',
  endpointName: 'forecast-local',
  customers: DEFAULT_DATASET_OPTIONS.customers,
  instances: 2,
  region: 'us-east-1',
  /** Local mode signs with LocalStack's conventional credentials; the edge server accepts any. */
  accessKeyId: 'test',
  secretAccessKey: 'test',
  /** An account id that is plainly not a real one. */
  roleArn: 'arn:aws:iam::000000000000:role/forecast-local-sagemaker',
  rawKey: 'raw/energy.csv',
  /** Shown after the run; the first one present is used in the query instructions. */
  sampleCustomers: ['42', '0'],
} as const;

export interface LocalModeOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly customers: number;
  readonly instances: number;
  readonly bucket: string;
  readonly endpointName: string;
  /** Scheduled time of the run (ISO); now when undefined. Runs ids derive from it. */
  readonly scheduledTime?: string | undefined;
  readonly log: (line: string) => void;
  /** Aborting stops local mode (jobs, containers, server), failing the run in progress. */
  readonly signal?: AbortSignal;
  /** Settings of the edge server beyond port and data folder (tests shorten its waits). */
  readonly localAws?: Omit<LocalAwsOptions, 'dataDir' | 'port'>;
}

export interface StepTimings {
  readonly processing: number;
  readonly training: number;
  /** Validation plus writing the manifests. */
  readonly publishing: number;
}

export interface LocalModeRun {
  readonly endpointUrl: string;
  readonly result: PipelineResult;
  readonly timings: StepTimings;
  readonly seededRaw: boolean;
  readonly close: () => Promise<void>;
}

/** The SDK settings that point every AWS client in this process at the edge server. */
export function localSdkEnvironment(endpointUrl: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpointUrl,
    AWS_ACCESS_KEY_ID: LOCAL_DEFAULTS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_DEFAULTS.secretAccessKey,
    AWS_REGION: LOCAL_DEFAULTS.region,
  };
}

/** The pipeline's environment for local mode: the same variables the Pulumi program writes on AWS. */
export function localPipelineEnvironment(options: Pick<LocalModeOptions, 'bucket' | 'endpointName' | 'instances' | 'scheduledTime'>): Record<string, string> {
  return {
    [PIPELINE_ENV.bucket]: options.bucket,
    [PIPELINE_ENV.sagemakerRoleArn]: LOCAL_DEFAULTS.roleArn,
    [PIPELINE_ENV.jobNamePrefix]: PIPELINE_CONFIG_DEFAULTS.jobNamePrefix,
    [PIPELINE_ENV.endpointName]: options.endpointName,
    [PIPELINE_ENV.processingImage]: LOCAL_IMAGES.processing,
    [PIPELINE_ENV.trainingImage]: LOCAL_IMAGES.training,
    [PIPELINE_ENV.trainingInstanceCount]: String(options.instances),
    ...(options.scheduledTime ? { [PIPELINE_ENV.scheduledTime]: options.scheduledTime } : {}),
  };
}

/** Starts local mode and runs the pipeline once; the caller closes it. */
export async function startLocalMode(options: LocalModeOptions): Promise<LocalModeRun> {
  const { log } = options;
  const dataDir = path.resolve(options.dataDir);
  options.signal?.throwIfAborted();
  const aws = await startLocalAws({ log: (line) => log(`  ${line}`), ...options.localAws, dataDir, port: options.port });
  const stop = () => void aws.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    options.signal?.throwIfAborted();
    Object.assign(process.env, localSdkEnvironment(aws.endpointUrl));
    await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket: options.bucket, endpointName: options.endpointName });
    log(`bucket ${options.bucket}, multi-model endpoint ${options.endpointName}`);
    const s3 = new S3Client({});
    let seededRaw: boolean;
    try {
      seededRaw = await seedRawData(s3, options.bucket, options.customers, log);
    } finally {
      s3.destroy();
    }
    const { result, timings } = await runLocalPipeline(options);
    options.signal?.throwIfAborted();
    return { endpointUrl: aws.endpointUrl, result, timings, seededRaw, close: () => aws.close() };
  } catch (error) {
    await aws.close();
    throw options.signal?.aborted ? options.signal.reason : error;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/**
 * One pipeline run in this process with local mode's configuration, through SDK clients that
 * `AWS_ENDPOINT_URL` points at the edge server.
 */
export async function runLocalPipeline(
  options: Pick<LocalModeOptions, 'bucket' | 'endpointName' | 'instances' | 'scheduledTime' | 'log'>,
): Promise<{ result: PipelineResult; timings: StepTimings }> {
  const s3 = new S3Client({});
  const sagemaker = new SageMakerClient({});
  const runtime = new SageMakerRuntimeClient({});
  try {
    const config = readPipelineConfig({ ...process.env, ...localPipelineEnvironment(options) });
    const steps = new Map<PipelineStep, number>();
    const result = await runPipeline({
      config,
      deps: { s3, sagemaker, runtime },
      // Local jobs take seconds, not minutes: poll often so the run does not wait on the waiter.
      backoff: { minDelayMs: 200, maxDelayMs: 1000 },
      onEvent: (event: PipelineEvent) => {
        if (event.type === 'step-finished') steps.set(event.step, event.seconds);
        options.log(formatPipelineEvent(event));
      },
    });
    const timings = {
      processing: steps.get('processing') ?? 0,
      training: steps.get('training') ?? 0,
      publishing: (steps.get('validation') ?? 0) + (steps.get('publishing') ?? 0),
    };
    return { result, timings };
  } finally {
    s3.destroy();
    sagemaker.destroy();
    runtime.destroy();
  }
}

/** Writes the seed's data set to `raw/` unless a raw drop is already there. */
async function seedRawData(s3: S3Client, bucket: string, customers: number, log: (line: string) => void): Promise<boolean> {
  const rawPrefix = PIPELINE_CONFIG_DEFAULTS.rawPrefix;
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: rawPrefix, MaxKeys: 1 }));
  if ((listing.KeyCount ?? 0) > 0) {
    log(`raw data: using what is under s3://${bucket}/${rawPrefix}`);
    return false;
  }
  const options = resolveDatasetOptions({ customers });
  const body = Buffer.from([...datasetChunks(options)].join(''));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: LOCAL_DEFAULTS.rawKey, Body: body, ContentType: 'text/csv' }));
  log(
    `raw data: wrote the seed's data set (${customers} customers × ${options.days} days, ${datasetRowCount(options)} rows, ` +
      `${(body.length / 1e6).toFixed(1)} MB) to s3://${bucket}/${LOCAL_DEFAULTS.rawKey}`,
  );
  return true;
}

/** Forecasts of a few customers through the endpoint, with the same client users call. */
export async function sampleForecasts(run: LocalModeRun, bucket: string, endpointName: string, period = 7): Promise<Forecast[]> {
  const s3 = new S3Client({});
  const runtime = new SageMakerRuntimeClient({});
  try {
    const client = createForecastClient({ bucket, endpointName, s3, runtime });
    const customers = Object.keys(run.result.manifest.models);
    const wanted = LOCAL_DEFAULTS.sampleCustomers.filter((id) => customers.includes(id));
    const picks = wanted.length > 0 ? wanted : customers.slice(0, 2);
    const results: Forecast[] = [];
    for (const id of picks) results.push(await client.forecast(id, period));
    return results;
  } finally {
    s3.destroy();
    runtime.destroy();
  }
}

/** How to query the endpoint from another terminal, with the CLI and with the AWS CLI. */
export function queryInstructions(endpointUrl: string, endpointName: string, sample: { customerId: string; targetModel: string }): string {
  const env = Object.entries(localSdkEnvironment(endpointUrl))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    'Query the endpoint from another terminal:',
    `  export ${env}`,
    `  npm run forecast -- --customer ${sample.customerId} --period 7`,
    `  npm run forecast -- --customer ${sample.customerId} --period 30 --plot forecast-${sample.customerId}.svg`,
    `  aws sagemaker-runtime invoke-endpoint --endpoint-name ${endpointName} --target-model ${sample.targetModel} \\`,
    `    --body '{"period":7}' --cli-binary-format raw-in-base64-out out.json && cat out.json`,
  ].join('\n');
}

const USAGE = `Usage: npm start -- [options]

Runs the nightly pipeline once on this machine (local S3, SageMaker and a multi-model endpoint on
one port), prints sample forecasts, then keeps serving until Ctrl-C.

  --port N          edge server port on 127.0.0.1 (default ${LOCAL_DEFAULTS.port}; 0 picks a free one)
  --customers N     customers in the generated data set when raw/ is empty (default ${LOCAL_DEFAULTS.customers})
  --instances N     training instances (default ${LOCAL_DEFAULTS.instances})
  --data-dir DIR    where local S3 and SageMaker keep their state (default ${LOCAL_DEFAULTS.dataDir})
  --allow-origin O  let browser requests from origin O (e.g. http://localhost:3000) through; repeatable.
                    Without it every request carrying an Origin header is refused (403)
  --once            exit after the sample forecasts instead of serving
  --schedule CRON   while serving, rerun the pipeline on this node-cron schedule in
                    $${PIPELINE_ENV.scheduleTimezone} (default "${DEFAULT_NIGHTLY_CRON}", UTC); "off" disables it
  -h, --help        this text
`;

/** An origin as browsers send it: `scheme://host[:port]`, nothing after. */
function checkOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`[--allow-origin] must be an origin like http://localhost:3000, got "${text}"`);
  }
  if (url.origin === 'null' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new RangeError(`[--allow-origin] must be an origin like http://localhost:3000 (scheme, host and port only), got "${text}"`);
  }
  return url.origin;
}

function integerOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`[--${name}] must be an integer in [${min}, ${max}], got "${text}"`);
  }
  return value;
}

export async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        port: { type: 'string' },
        customers: { type: 'string' },
        instances: { type: 'string' },
        'data-dir': { type: 'string' },
        'allow-origin': { type: 'string', multiple: true, default: [] },
        once: { type: 'boolean', default: false },
        schedule: { type: 'string', default: DEFAULT_NIGHTLY_CRON },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
  } catch (error) {
    process.stderr.write(`start: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let options: LocalModeOptions;
  try {
    options = {
      port: integerOption('port', values.port, LOCAL_DEFAULTS.port, 0, 65535),
      customers: integerOption('customers', values.customers, LOCAL_DEFAULTS.customers, 1, 1_000_000),
      instances: integerOption('instances', values.instances, LOCAL_DEFAULTS.instances, 1, 16),
      dataDir: values['data-dir'] ?? LOCAL_DEFAULTS.dataDir,
      localAws: { allowedOrigins: values['allow-origin'].map((origin) => checkOrigin(origin)) },
      bucket: LOCAL_DEFAULTS.bucket,
      endpointName: LOCAL_DEFAULTS.endpointName,
      log: (line) => process.stdout.write(`${line}\n`),
    };
    if (values.schedule !== 'off') checkNightlyCron(values.schedule);
  } catch (error) {
    process.stderr.write(`start: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  // Ctrl-C at any point stops every child (jobs, endpoint containers) before exiting.
  const stopping = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping.signal.aborted) options.log(`\n${signal}: stopping local mode…`);
    stopping.abort(new StoppedError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const schedule = values.once || values.schedule === 'off' ? undefined : values.schedule;
    return await startAndServe({ ...options, signal: stopping.signal }, schedule, values.once);
  } catch (error) {
    if (error instanceof StoppedError) return 130;
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

class StoppedError extends Error {
  override readonly name = 'StoppedError';
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
  }
}

async function startAndServe(options: LocalModeOptions & { signal: AbortSignal }, schedule: string | undefined, once: boolean): Promise<number> {
  const started = Date.now();
  const run = await startLocalMode(options);
  try {
    const { result, timings } = run;
    const say = options.log;
    say('');
    say(`bucket    s3://${options.bucket}`);
    say(`endpoint  ${options.endpointName} (${run.endpointUrl})`);
    say(`manifest  s3://${options.bucket}/manifests/current.json: run ${result.runId}, ${Object.keys(result.manifest.models).length} customers (${result.publishOutcome})`);
    say(
      `timing    processing ${timings.processing.toFixed(1)} s, training ${timings.training.toFixed(1)} s, ` +
        `publishing ${timings.publishing.toFixed(1)} s; total ${((Date.now() - started) / 1000).toFixed(1)} s wall`,
    );
    say('');
    const samples = await sampleForecasts(run, options.bucket, options.endpointName);
    for (const sample of samples) say(`${formatForecastTable(sample)}\n`);
    const first = samples[0];
    if (first) say(queryInstructions(run.endpointUrl, options.endpointName, first));
    if (once) return 0;
    const nightly = schedule
      ? scheduleNightly({
          cron: schedule,
          timezone: process.env[PIPELINE_ENV.scheduleTimezone] ?? PIPELINE_CONFIG_DEFAULTS.scheduleTimezone,
          log: say,
          run: async (scheduledTime) => {
            const { result: next } = await runLocalPipeline({ ...options, scheduledTime });
            say(`nightly schedule: run ${next.runId} ${next.publishOutcome}, ${Object.keys(next.manifest.models).length} customers in the manifest`);
          },
        })
      : undefined;
    say(`\nServing on ${run.endpointUrl}; ${nightly ? `next nightly run ${nightly.nextRun()?.toISOString()}; ` : ''}Ctrl-C stops.`);
    try {
      if (!options.signal.aborted) await new Promise((resolve) => options.signal.addEventListener('abort', resolve, { once: true }));
    } finally {
      await nightly?.stop();
    }
    return 0;
  } finally {
    await run.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const busy = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (is local mode already running? --port N picks another port, --port 0 a free one)' : '';
      process.stderr.write(`start: ${error instanceof Error ? error.message : String(error)}${busy}\n`);
      process.exitCode = 1;
    },
  );
}
