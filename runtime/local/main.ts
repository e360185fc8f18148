import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
import { DATASET_PRESETS, datasetChunks, DEFAULT_DATASET_OPTIONS, datasetRowCount, isDatasetPreset, resolveDatasetOptions } from '../dataset/generator.js';
import type { DatasetPreset } from '../dataset/generator.js';
import type { Manifest } from '../pipeline/manifest.js';
import { formatPipelineEvent, runPipeline } from '../pipeline/run-pipeline.js';
import type { PipelineEvent, PipelineResult } from '../pipeline/run-pipeline.js';
import { PIPELINE_STEPS, type PipelineStep } from '../pipeline/report.js';
import type { BackoffOptions } from '../pipeline/waiter.js';
import { provisionLocalStack } from './bootstrap.js';
import { createLocalConsole } from './console/local-console.js';
import { startLocalAws } from './edge-server.js';
import type { LocalAwsOptions } from './edge-server.js';
import { LOCAL_IMAGES } from './images.js';
import { checkNightlyCron, DEFAULT_NIGHTLY_CRON, scheduleNightly } from './nightly.js';
import { planStartup, readServedManifest } from './served-models.js';

/**
 * `npm start`: local mode's main job. Starts the edge server (S3, SageMaker, SageMaker Runtime on one
 * port), provisions the bucket and the multi-model endpoint through the SDK, serves the published
 * models at once when there are any (or else writes the demo data set into `raw/` when there is
 * none and runs the nightly pipeline once in this process), shows sample forecasts through the
 * forecast client, and keeps serving until Ctrl-C. The pipeline and the client are AWS's code
 * paths: only the SDK's environment points them here.
 */

/**
 * How local mode's pipeline polls its jobs. Local jobs take seconds, not minutes: poll often so
 * the run does not wait on the waiter (a poll is one DescribeTrainingJob, ≈ 2.6 ms of CPU on both
 * sides; the models are counted at most every PROGRESS_REFRESH_MS). With polls up to 1 s apart a
 * finished job waited ≈ 0.4 s on average to be noticed, 200–400 ms apart ≈ 0.15 s; starting at
 * 50 ms and doubling to 250 ms, a sub-second job (a small night's processing) is seen within
 * 50–100 ms and a long one within ≈ 0.1 s.
 */
export const LOCAL_JOB_POLLING: BackoffOptions = { minDelayMs: 50, maxDelayMs: 250 };

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
  /** The data set written to an empty `raw/` (default `demo`). */
  readonly data?: DatasetPreset;
  /** Run the pipeline even when models are already published (default: serve them as they are). */
  readonly retrain?: boolean;
  /** Scheduled time of the run (ISO); now when undefined. Runs ids derive from it. */
  readonly scheduledTime?: string | undefined;
  /** Retrain every customer in the run at start, changed or not (`--retrain-all`). */
  readonly retrainAll?: boolean;
  readonly log: (line: string) => void;
  /** Local AWS's own lines (jobs, containers, endpoints); default: `log`, indented. */
  readonly serviceLog?: (line: string) => void;
  /** The pipeline's progress; default: each event as `formatPipelineEvent` words it, on `log`. */
  readonly onPipelineEvent?: (event: PipelineEvent) => void;
  /** Aborting stops local mode (jobs, containers, server), failing the run in progress. */
  readonly signal?: AbortSignal;
  /** Settings of the edge server beyond port and data folder (tests shorten its waits). */
  readonly localAws?: Omit<LocalAwsOptions, 'dataDir' | 'port'>;
}

/** Seconds of each pipeline step that ran, in the order the pipeline runs them. */
export type StepTimings = Partial<Record<PipelineStep, number>>;

export interface LocalModeRun {
  readonly endpointUrl: string;
  /** What the endpoint serves: the manifest found at start, or the one this start's run published. */
  readonly manifest: Manifest;
  /** The pipeline run of this start; undefined when it served the published models as they were. */
  readonly pipeline?: { readonly result: PipelineResult; readonly timings: StepTimings };
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

/**
 * The pipeline's environment for local mode: the same variables the Pulumi program writes on AWS,
 * plus the metrics folder, where the EMF records CloudWatch would extract from the logs are kept.
 */
export function localPipelineEnvironment(
  options: Pick<LocalModeOptions, 'bucket' | 'endpointName' | 'instances' | 'scheduledTime' | 'dataDir' | 'retrainAll'>,
): Record<string, string> {
  return {
    [PIPELINE_ENV.bucket]: options.bucket,
    [PIPELINE_ENV.sagemakerRoleArn]: LOCAL_DEFAULTS.roleArn,
    [PIPELINE_ENV.jobNamePrefix]: PIPELINE_CONFIG_DEFAULTS.jobNamePrefix,
    [PIPELINE_ENV.endpointName]: options.endpointName,
    [PIPELINE_ENV.processingImage]: LOCAL_IMAGES.processing,
    [PIPELINE_ENV.trainingImage]: LOCAL_IMAGES.training,
    [PIPELINE_ENV.trainingInstanceCount]: String(options.instances),
    [PIPELINE_ENV.metricsDir]: localMetricsDir(options.dataDir),
    ...(options.scheduledTime ? { [PIPELINE_ENV.scheduledTime]: options.scheduledTime } : {}),
    ...(options.retrainAll ? { [PIPELINE_ENV.fullRetrain]: 'true' } : {}),
  };
}

/** `<data-dir>/metrics/`: one `<runId>.jsonl` of EMF records per run. */
export function localMetricsDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'metrics');
}

/** Starts local mode and runs the pipeline once; the caller closes it. */
export async function startLocalMode(options: LocalModeOptions): Promise<LocalModeRun> {
  const { log } = options;
  const dataDir = path.resolve(options.dataDir);
  options.signal?.throwIfAborted();
  const aws = await startLocalAws({ log: options.serviceLog ?? ((line) => log(`  ${line}`)), ...options.localAws, dataDir, port: options.port });
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
      const plan = planStartup(await readServedManifest(s3, options.bucket), (options.retrain ?? false) || (options.retrainAll ?? false));
      if (!plan.train) return { endpointUrl: aws.endpointUrl, manifest: plan.manifest, seededRaw: false, close: () => aws.close() };
      seededRaw = await seedRawData(s3, options.bucket, options.customers, options.data ?? 'demo', log);
    } finally {
      s3.destroy();
    }
    const pipeline = await runLocalPipeline(options);
    options.signal?.throwIfAborted();
    return { endpointUrl: aws.endpointUrl, manifest: pipeline.result.manifest, pipeline, seededRaw, close: () => aws.close() };
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
  options: Pick<LocalModeOptions, 'bucket' | 'endpointName' | 'instances' | 'scheduledTime' | 'dataDir' | 'retrainAll' | 'log' | 'onPipelineEvent'>,
): Promise<{ result: PipelineResult; timings: StepTimings }> {
  const s3 = new S3Client({});
  const sagemaker = new SageMakerClient({});
  const runtime = new SageMakerRuntimeClient({});
  try {
    const config = readPipelineConfig({ ...process.env, ...localPipelineEnvironment(options) });
    const timings: StepTimings = {};
    const result = await runPipeline({
      config,
      deps: { s3, sagemaker, runtime },
      backoff: LOCAL_JOB_POLLING,
      onEvent: (event: PipelineEvent) => {
        if (event.type === 'step-finished') timings[event.step] = event.seconds;
        if (options.onPipelineEvent) options.onPipelineEvent(event);
        else options.log(formatPipelineEvent(event));
      },
    });
    return { result, timings };
  } finally {
    s3.destroy();
    sagemaker.destroy();
    runtime.destroy();
  }
}

/** Writes the named data set of the seed's customers to `raw/` unless a raw drop is already there. */
async function seedRawData(s3: S3Client, bucket: string, customers: number, data: DatasetPreset, log: (line: string) => void): Promise<boolean> {
  const rawPrefix = PIPELINE_CONFIG_DEFAULTS.rawPrefix;
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: rawPrefix, MaxKeys: 1 }));
  if ((listing.KeyCount ?? 0) > 0) {
    log(`raw data: using what is under s3://${bucket}/${rawPrefix}`);
    return false;
  }
  const options = resolveDatasetOptions({ customers, ...DATASET_PRESETS[data] });
  // Through a file, not one string: 10,000 customers are 124 MB of CSV.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'forecast-seed-'));
  try {
    const file = path.join(scratch, 'energy.csv');
    await pipeline(Readable.from(datasetChunks(options)), createWriteStream(file));
    const { size } = await stat(file);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: LOCAL_DEFAULTS.rawKey, Body: createReadStream(file), ContentLength: size, ContentType: 'text/csv' }));
    const what = data === 'seed' ? "the seed's data set" : "the demo data set, the seed's customers with a weekly pattern and noise,";
    log(
      `raw data: wrote ${what} (${customers} customers × ${options.days} days, ${datasetRowCount(options)} rows, ` +
        `${(size / 1e6).toFixed(1)} MB) to s3://${bucket}/${LOCAL_DEFAULTS.rawKey}`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return true;
}

/** Forecasts of a few customers through the endpoint, with the same client users call. */
export async function sampleForecasts(run: LocalModeRun, bucket: string, endpointName: string, period = 7): Promise<Forecast[]> {
  const s3 = new S3Client({});
  const runtime = new SageMakerRuntimeClient({});
  try {
    const client = createForecastClient({ bucket, endpointName, s3, runtime });
    const customers = Object.keys(run.manifest.models);
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
one port), prints sample forecasts, then keeps serving until Ctrl-C. With models already published
it serves them at once and leaves retraining to the nightly schedule (or --retrain).

  --port N          edge server port on 127.0.0.1 (default ${LOCAL_DEFAULTS.port}; 0 picks a free one)
  --customers N     customers in the generated data set when raw/ is empty (default ${LOCAL_DEFAULTS.customers})
  --instances N     training instances (default ${LOCAL_DEFAULTS.instances})
  --data-dir DIR    where local S3 and SageMaker keep their state, and logs/ (default ${LOCAL_DEFAULTS.dataDir})
  --allow-origin O  let browser requests from origin O (e.g. http://localhost:3000) through; repeatable.
                    Without it every request carrying an Origin header is refused (403)
  --data demo|seed  the data set written when raw/ is empty: demo (default) is the seed's customers
                    with a weekly pattern and noise; seed is the seed's exact noise-free data
  --retrain         run the pipeline before serving even when models are already published
                    (by default a restart serves the published models at once)
  --verbose         show job, container and endpoint output on the console (always in <data-dir>/logs/)
  --retrain-all     like --retrain, and retrain every customer, even those whose data and
                    training settings did not change (runs retrain only those that did)
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
        data: { type: 'string', default: 'demo' },
        retrain: { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        'retrain-all': { type: 'boolean', default: false },
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
    const data = values.data;
    if (!isDatasetPreset(data)) throw new RangeError(`[--data] must be one of ${Object.keys(DATASET_PRESETS).join(', ')}, got "${data}"`);
    options = {
      port: integerOption('port', values.port, LOCAL_DEFAULTS.port, 0, 65535),
      customers: integerOption('customers', values.customers, LOCAL_DEFAULTS.customers, 1, 1_000_000),
      instances: integerOption('instances', values.instances, LOCAL_DEFAULTS.instances, 1, 16),
      dataDir: values['data-dir'] ?? LOCAL_DEFAULTS.dataDir,
      localAws: { allowedOrigins: values['allow-origin'].map((origin) => checkOrigin(origin)) },
      retrainAll: values['retrain-all'],
      bucket: LOCAL_DEFAULTS.bucket,
      endpointName: LOCAL_DEFAULTS.endpointName,
      data,
      retrain: values.retrain,
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
  const screen = createLocalConsole({ dataDir: options.dataDir, verbose: values.verbose, stream: process.stdout });
  try {
    const schedule = values.once || values.schedule === 'off' ? undefined : values.schedule;
    const hooks = { log: screen.log, serviceLog: screen.serviceLog, onPipelineEvent: screen.onPipelineEvent };
    return await startAndServe({ ...options, ...hooks, signal: stopping.signal }, schedule, values.once, values.verbose ? undefined : screen.logDir);
  } catch (error) {
    if (error instanceof StoppedError) return 130;
    throw error;
  } finally {
    await screen.close();
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

async function startAndServe(
  options: LocalModeOptions & { signal: AbortSignal },
  schedule: string | undefined,
  once: boolean,
  logDir: string | undefined,
): Promise<number> {
  const started = Date.now();
  const run = await startLocalMode(options);
  try {
    const say = options.log;
    const manifestUri = `s3://${options.bucket}/manifests/current.json`;
    const customers = Object.keys(run.manifest.models).length;
    say('');
    say(`bucket    s3://${options.bucket}`);
    say(`endpoint  ${options.endpointName} (${run.endpointUrl})`);
    if (run.pipeline) {
      const { result, timings } = run.pipeline;
      say(`manifest  ${manifestUri}: run ${result.runId}, ${customers} customers (${result.publishOutcome})`);
      const steps = PIPELINE_STEPS.flatMap((step) => (timings[step] === undefined ? [] : [`${step} ${timings[step].toFixed(1)} s`]));
      say(`timing    ${steps.join(', ')}; total ${((Date.now() - started) / 1000).toFixed(1)} s wall`);
    } else {
      say(`manifest  ${manifestUri}: run ${run.manifest.runId}, ${customers} customers, published ${run.manifest.publishedAt}`);
      say(`          served as published, no retraining (--retrain retrains now)`);
    }
    if (logDir) say(`logs      ${logDir}${path.sep} (jobs, containers and the endpoint; --verbose shows them here)`);
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
            const { result: next } = await runLocalPipeline({ ...options, scheduledTime, retrainAll: false });
            say(`nightly schedule: run ${next.runId} ${next.publishOutcome}, ${Object.keys(next.manifest.models).length} customers in the manifest`);
          },
        })
      : undefined;
    const nextRun = nightly
      ? `next pipeline run ${nightly.nextRun()?.toISOString()} (nightly schedule "${schedule}")`
      : 'no nightly schedule (--schedule off)';
    say(`\nServing on ${run.endpointUrl} (ready ${process.uptime().toFixed(1)} s after start); ${nextRun}, or restart with --retrain. Ctrl-C stops.`);
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
