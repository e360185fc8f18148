import { IANAZone, DateTime } from 'luxon';
import path from 'node:path';
import { HYPERPARAMETER_NAMES } from '../../containers/training/hyperparameters.js';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_PATTERN, METRICS_STACK_PATTERN } from './metric-names.js';
import { DEFAULT_DROP_AFTER_DAYS, DEFAULT_RETENTION_DAYS, MAX_DATA_LIFE_DAYS } from './data-life.js';
import { PIPELINE_ENV, type PipelineEnvKey } from './pipeline-env.js';
import { parsePublishingRules, type PublishingRules } from './publishing-rules.js';
import { TRAINING_CUSTOMERS_PER_INSTANCE } from './training-capacity.js';
import { MAX_HYPERPARAMETERS, MAX_HYPERPARAMETER_LENGTH, MAX_TRAINING_RUNTIME_SECONDS, SAGEMAKER_NAME_PATTERN } from './sagemaker-limits.js';

/**
 * One pipeline run's configuration, parsed once from the environment the Pulumi program writes into
 * the Fargate task definition (names in `PIPELINE_ENV`). Every error names the variable, what it held
 * and what is expected; all problems are reported together.
 */
export interface PipelineConfig {
  readonly bucket: string;
  /** Key prefix of the raw drops, ending in `/`. */
  readonly rawPrefix: string;
  readonly sagemakerRoleArn: string;
  readonly jobNamePrefix: string;
  readonly endpointName: string;
  readonly processing: {
    readonly image: string;
    readonly instanceType: string;
    readonly instanceCount: number;
  };
  readonly training: {
    readonly image: string;
    readonly instanceType: string;
    /** Most instances a job asks for; the night's customers decide how many it does (`training-capacity.ts`). */
    readonly instanceCount: number;
    readonly customersPerInstance: number;
    readonly spot: boolean;
    readonly maxRuntimeSeconds: number;
    /** String hyperparameters as the training job receives them. */
    readonly hyperparameters: Readonly<Record<string, string>>;
  };
  readonly scheduleTimezone: string;
  /** The time the scheduler meant to start this run; undefined means now. */
  readonly scheduledTime: DateTime | undefined;
  /** The quality gate, the run-level stop rules and the warm switch. */
  readonly publishing: PublishingRules;
  readonly metrics: {
    readonly namespace: string;
    /** The `Stack` dimension's value. */
    readonly stack: string;
    /** Absolute folder for `<runId>.jsonl`; undefined writes the records to stdout. */
    readonly directory: string | undefined;
  };
  /** Retrain every customer, even those whose data and settings match their serving model's. */
  readonly fullRetrain: boolean;
  /** A customer whose last row is older than this many days before the data set's newest row leaves the manifest. */
  readonly dropAfterDays: number;
  /** Days before unreferenced model versions, run data and history manifests are deleted. */
  readonly retentionDays: number;
}

/** Longest prefix that still leaves room for `-<runId>-process-r99` within SageMaker's 63 characters. */
export const MAX_JOB_NAME_PREFIX_LENGTH = 36;

const JOB_NAME_PREFIX_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
/** S3 bucket naming rules (general purpose buckets). */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;

export class PipelineConfigError extends Error {
  override readonly name = 'PipelineConfigError';
  readonly code = 'E_PIPELINE_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`The pipeline's configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const PIPELINE_CONFIG_DEFAULTS = {
  rawPrefix: 'raw/',
  jobNamePrefix: 'forecast',
  processingInstanceType: 'ml.m5.large',
  processingInstanceCount: 1,
  trainingInstanceType: 'ml.c5.xlarge',
  trainingInstanceCount: 2,
  trainingSpot: false,
  trainingMaxRuntimeSeconds: 4 * 3600,
  scheduleTimezone: 'UTC',
  metricsNamespace: DEFAULT_METRICS_NAMESPACE,
  metricsStack: 'local',
  fullRetrain: false,
  dropAfterDays: DEFAULT_DROP_AFTER_DAYS,
  retentionDays: DEFAULT_RETENTION_DAYS,
} as const;

/** Reads and validates the configuration; throws one `PipelineConfigError` listing every problem. */
export function readPipelineConfig(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const problems: string[] = [];
  const reader = new EnvReader(env, problems);

  const bucket = reader.required('bucket', BUCKET_PATTERN, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)');
  const rawPrefix = normalizePrefix(reader.optional('rawPrefix') ?? PIPELINE_CONFIG_DEFAULTS.rawPrefix);
  const sagemakerRoleArn = reader.required('sagemakerRoleArn', ROLE_ARN_PATTERN, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
  const jobNamePrefix = reader.optional('jobNamePrefix') ?? PIPELINE_CONFIG_DEFAULTS.jobNamePrefix;
  if (!JOB_NAME_PREFIX_PATTERN.test(jobNamePrefix) || jobNamePrefix.length > MAX_JOB_NAME_PREFIX_LENGTH) {
    problems.push(
      `${PIPELINE_ENV.jobNamePrefix} is ${JSON.stringify(jobNamePrefix)}; expected letters, digits and inner hyphens, at most ${MAX_JOB_NAME_PREFIX_LENGTH} characters`,
    );
  }
  const endpointName = reader.required('endpointName', SAGEMAKER_NAME_PATTERN, 'a SageMaker endpoint name');
  const processingImage = reader.required('processingImage', /\S/, 'an image URI');
  const trainingImage = reader.required('trainingImage', /\S/, 'an image URI');
  const processingInstanceType = reader.optional('processingInstanceType') ?? PIPELINE_CONFIG_DEFAULTS.processingInstanceType;
  const trainingInstanceType = reader.optional('trainingInstanceType') ?? PIPELINE_CONFIG_DEFAULTS.trainingInstanceType;
  for (const key of ['processingInstanceType', 'trainingInstanceType'] as const) {
    const value = key === 'processingInstanceType' ? processingInstanceType : trainingInstanceType;
    if (!/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(value)) {
      problems.push(`${PIPELINE_ENV[key]} is ${JSON.stringify(value)}; expected a SageMaker instance type such as ml.c5.xlarge`);
    }
  }
  // Processing groups rows by customer across every raw file, so one instance must see all of them.
  const processingInstanceCount = reader.integer('processingInstanceCount', PIPELINE_CONFIG_DEFAULTS.processingInstanceCount, 1, 1);
  const trainingInstanceCount = reader.integer('trainingInstanceCount', PIPELINE_CONFIG_DEFAULTS.trainingInstanceCount, 1, 100);
  const { default: perInstance, min: minPerInstance, max: maxPerInstance } = TRAINING_CUSTOMERS_PER_INSTANCE;
  const customersPerInstance = reader.integer('trainingCustomersPerInstance', perInstance, minPerInstance, maxPerInstance);
  const spot = reader.boolean('trainingSpot', PIPELINE_CONFIG_DEFAULTS.trainingSpot);
  const maxRuntimeSeconds = reader.integer(
    'trainingMaxRuntimeSeconds',
    PIPELINE_CONFIG_DEFAULTS.trainingMaxRuntimeSeconds,
    1,
    MAX_TRAINING_RUNTIME_SECONDS,
  );
  const hyperparameters = parseHyperparameters(reader.optional('hyperparameters'), problems);
  const scheduleTimezone = reader.optional('scheduleTimezone') ?? PIPELINE_CONFIG_DEFAULTS.scheduleTimezone;
  if (!IANAZone.isValidZone(scheduleTimezone)) {
    problems.push(`${PIPELINE_ENV.scheduleTimezone} is ${JSON.stringify(scheduleTimezone)}; expected an IANA time zone such as Europe/Paris`);
  }
  const scheduledTimeText = reader.optional('scheduledTime');
  let scheduledTime: DateTime | undefined;
  if (scheduledTimeText !== undefined) {
    const parsed = DateTime.fromISO(scheduledTimeText, { setZone: true });
    if (parsed.isValid) scheduledTime = parsed;
    else problems.push(`${PIPELINE_ENV.scheduledTime} is ${JSON.stringify(scheduledTimeText)}; expected an ISO 8601 time such as 2026-11-26T02:00:00Z`);
  }
  const publishing = parsePublishingRules((key) => reader.optional(key), (key) => PIPELINE_ENV[key], problems);
  const metricsNamespace = reader.optional('metricsNamespace') ?? PIPELINE_CONFIG_DEFAULTS.metricsNamespace;
  if (!METRICS_NAMESPACE_PATTERN.test(metricsNamespace)) {
    problems.push(
      `${PIPELINE_ENV.metricsNamespace} is ${JSON.stringify(metricsNamespace)}; expected a CloudWatch namespace ` +
        '(1-255 letters, digits, spaces and . _ # : / -, not starting with AWS/)',
    );
  }
  const metricsStack = reader.optional('metricsStack') ?? PIPELINE_CONFIG_DEFAULTS.metricsStack;
  if (!METRICS_STACK_PATTERN.test(metricsStack)) {
    problems.push(`${PIPELINE_ENV.metricsStack} is ${JSON.stringify(metricsStack)}; expected a stack name (1-255 printable ASCII characters, no spaces)`);
  }
  const metricsDir = reader.optional('metricsDir');
  if (metricsDir !== undefined && !path.isAbsolute(metricsDir)) {
    problems.push(`${PIPELINE_ENV.metricsDir} is ${JSON.stringify(metricsDir)}; expected an absolute folder path`);
  }

  const fullRetrain = reader.boolean('fullRetrain', PIPELINE_CONFIG_DEFAULTS.fullRetrain);
  const dropAfterDays = reader.integer('dropAfterDays', PIPELINE_CONFIG_DEFAULTS.dropAfterDays, 1, MAX_DATA_LIFE_DAYS);
  const retentionDays = reader.integer('retentionDays', PIPELINE_CONFIG_DEFAULTS.retentionDays, 1, MAX_DATA_LIFE_DAYS);

  if (problems.length > 0) throw new PipelineConfigError(problems);
  return Object.freeze({
    bucket,
    rawPrefix,
    sagemakerRoleArn,
    jobNamePrefix,
    endpointName,
    processing: Object.freeze({ image: processingImage, instanceType: processingInstanceType, instanceCount: processingInstanceCount }),
    training: Object.freeze({
      image: trainingImage,
      instanceType: trainingInstanceType,
      instanceCount: trainingInstanceCount,
      customersPerInstance,
      spot,
      maxRuntimeSeconds,
      hyperparameters: Object.freeze(hyperparameters),
    }),
    scheduleTimezone,
    scheduledTime,
    publishing,
    metrics: Object.freeze({ namespace: metricsNamespace, stack: metricsStack, directory: metricsDir }),
    fullRetrain,
    dropAfterDays,
    retentionDays,
  });
}

/** Prefixes are used as S3 key prefixes: no leading slash, one trailing slash (empty means the whole bucket). */
function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function parseHyperparameters(text: string | undefined, problems: string[]): Record<string, string> {
  if (text === undefined) return {};
  const name = PIPELINE_ENV.hyperparameters;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.push(`${name} is not valid JSON (${(error as Error).message}); expected an object such as {"holdout_days":"28"}`);
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${name} is ${JSON.stringify(value)}; expected a JSON object of hyperparameters`);
    return {};
  }
  const result: Record<string, string> = {};
  const entries = Object.entries(value);
  if (entries.length > MAX_HYPERPARAMETERS - 1) {
    problems.push(`${name} has ${entries.length} hyperparameters; SageMaker allows at most ${MAX_HYPERPARAMETERS}, one of them the pipeline's run_id`);
  }
  for (const [key, raw] of entries) {
    if (key === 'run_id') {
      problems.push(`${name}.run_id is set; the pipeline sets it to the run id itself`);
      continue;
    }
    // The training container refuses unknown names: say so now, not after processing has run.
    if (!(HYPERPARAMETER_NAMES as readonly string[]).includes(key)) {
      problems.push(`${name}.${key} is not a hyperparameter of the training container; expected any of ${HYPERPARAMETER_NAMES.filter((n) => n !== 'run_id').join(', ')}`);
      continue;
    }
    // SageMaker takes strings only; numbers and booleans are written the way a person would type them.
    const asString = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    if (asString === undefined) {
      problems.push(`${name}.${key} is ${JSON.stringify(raw)}; expected a string, number or boolean`);
      continue;
    }
    if (key.length === 0 || key.length > MAX_HYPERPARAMETER_LENGTH) {
      problems.push(`${name} has a key of ${key.length} characters; SageMaker allows 1-${MAX_HYPERPARAMETER_LENGTH}`);
    }
    if (asString.length > MAX_HYPERPARAMETER_LENGTH) {
      problems.push(`${name}.${key} has ${asString.length} characters; SageMaker allows at most ${MAX_HYPERPARAMETER_LENGTH}`);
    }
    result[key] = asString;
  }
  return result;
}

class EnvReader {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly problems: string[],
  ) {}

  optional(key: PipelineEnvKey): string | undefined {
    const value = this.env[PIPELINE_ENV[key]]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  required(key: PipelineEnvKey, pattern: RegExp, expected: string): string {
    const value = this.optional(key);
    if (value === undefined) {
      this.problems.push(`${PIPELINE_ENV[key]} is not set; expected ${expected}`);
      return '';
    }
    if (!pattern.test(value)) this.problems.push(`${PIPELINE_ENV[key]} is ${JSON.stringify(value)}; expected ${expected}`);
    return value;
  }

  integer(key: PipelineEnvKey, fallback: number, min: number, max: number): number {
    const value = this.optional(key);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const range = min === max ? `${min}` : `an integer from ${min} to ${max}`;
      this.problems.push(`${PIPELINE_ENV[key]} is ${JSON.stringify(value)}; expected ${range}`);
      return fallback;
    }
    return parsed;
  }

  boolean(key: PipelineEnvKey, fallback: boolean): boolean {
    const value = this.optional(key);
    if (value === undefined) return fallback;
    if (value === 'true') return true;
    if (value === 'false') return false;
    this.problems.push(`${PIPELINE_ENV[key]} is ${JSON.stringify(value)}; expected true or false`);
    return fallback;
  }
}
