import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_PATTERN } from '../runtime/config/metric-names.js';
import { DEFAULT_DROP_AFTER_DAYS, DEFAULT_NONCURRENT_VERSION_DAYS, DEFAULT_RETENTION_DAYS, MAX_DATA_LIFE_DAYS } from '../runtime/config/data-life.js';
import { MAX_HYPERPARAMETERS, MAX_HYPERPARAMETER_LENGTH, MAX_TRAINING_RUNTIME_SECONDS } from '../runtime/config/sagemaker-limits.js';
import { TRAINING_CUSTOMERS_PER_INSTANCE } from '../runtime/config/training-capacity.js';
import { parsePublishingRules, PUBLISHING_RULE_KEYS, type PublishingRules } from '../runtime/config/publishing-rules.js';

/**
 * Everything a user changes per environment, read once from the stack's configuration
 * (`Pulumi.<stack>.yaml`), with defaults, and validated before any resource is declared: a bad value
 * fails `pulumi up` (and `npm run plan`) with a message naming the key.
 */
export interface StackConfig {
  /** AWS region, from the standard `aws:region` key. */
  readonly region: string;
  readonly endpoint: {
    readonly instanceType: string;
    readonly instanceCount: number;
    /** Microseconds of `ModelLoadingWaitTime` (average over 5 minutes) that raise the alarm. */
    readonly modelLoadingWaitAlarmMicros: number;
  };
  /** Application Auto Scaling on invocations per instance; undefined when switched off. */
  readonly autoscaling:
    | {
        readonly minInstances: number;
        readonly maxInstances: number;
        readonly targetInvocationsPerInstance: number;
        readonly scaleInCooldownSeconds: number;
        readonly scaleOutCooldownSeconds: number;
      }
    | undefined;
  readonly processing: { readonly instanceType: string; readonly instanceCount: number };
  readonly training: {
    readonly instanceType: string;
    readonly instanceCount: number;
    readonly customersPerInstance: number;
    readonly spot: boolean;
    readonly maxRuntimeSeconds: number;
    readonly hyperparameters: Readonly<Record<string, string>>;
  };
  readonly pipeline: { readonly cpu: number; readonly memoryMiB: number };
  /** The quality gate, stop rules and warm switch, under the same key names (`publishing-rules.ts`). */
  readonly publishing: PublishingRules;
  readonly schedule: {
    /** EventBridge Scheduler expression, `cron(min hour day-of-month month day-of-week year)`. */
    readonly expression: string;
    /** IANA time zone the expression is evaluated in; run ids are days in this zone. */
    readonly timezone: string;
    readonly enabled: boolean;
    readonly retryAttempts: number;
    readonly maxEventAgeSeconds: number;
  };
  /** Days before `runs/` objects expire and before the pipeline's cleanup deletes unreferenced models and history manifests. */
  readonly retentionDays: number;
  /** Days a noncurrent object version (what cleanup and `forget` deleted or rewrote) lives before it expires. */
  readonly noncurrentVersionDays: number;
  /** A customer with no row this many days before the newest row leaves the manifest. */
  readonly dropAfterDays: number;
  readonly logRetentionDays: number;
  readonly alarmEmail: string | undefined;
  /** The pipeline's metrics and the alarms on them. */
  readonly monitoring: {
    readonly metricsNamespace: string;
    /** Share of a night's customers rejected or failed (0-1) above which the alarm fires. */
    readonly alarmRejectedShare: number;
    /** Share of a night's raw rows quarantined (0-1) above which the alarm fires. */
    readonly alarmQuarantinedShare: number;
  };
  readonly tags: Readonly<Record<string, string>>;
  readonly networkCidr: string;
}

/** The project's own config keys (without the `<project>:` namespace). */
export const CONFIG_KEYS = [
  'endpointInstanceType',
  'endpointInstanceCount',
  'modelLoadingWaitAlarmMs',
  'autoscalingEnabled',
  'autoscalingMinInstances',
  'autoscalingMaxInstances',
  'autoscalingTargetInvocations',
  'autoscalingScaleInCooldownSeconds',
  'autoscalingScaleOutCooldownSeconds',
  'processingInstanceType',
  'processingInstanceCount',
  'trainingInstanceType',
  'trainingInstanceCount',
  'trainingCustomersPerInstance',
  'trainingSpot',
  'trainingMaxRuntimeSeconds',
  'hyperparameters',
  'pipelineCpu',
  'pipelineMemoryMiB',
  'scheduleCron',
  'scheduleTimezone',
  'scheduleEnabled',
  'scheduleRetryAttempts',
  'scheduleMaxEventAgeSeconds',
  'retentionDays',
  'noncurrentVersionDays',
  'dropAfterDays',
  'logRetentionDays',
  'alarmEmail',
  'metricsNamespace',
  'alarmRejectedShare',
  'alarmQuarantinedShare',
  'tags',
  'networkCidr',
  ...PUBLISHING_RULE_KEYS,
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export const CONFIG_DEFAULTS = {
  endpointInstanceType: 'ml.c5.xlarge',
  endpointInstanceCount: 1,
  modelLoadingWaitAlarmMs: 5000,
  autoscalingEnabled: true,
  autoscalingMinInstances: 1,
  autoscalingMaxInstances: 4,
  autoscalingTargetInvocations: 1000,
  autoscalingScaleInCooldownSeconds: 600,
  autoscalingScaleOutCooldownSeconds: 120,
  processingInstanceType: 'ml.m5.large',
  processingInstanceCount: 1,
  trainingInstanceType: 'ml.c5.xlarge',
  trainingInstanceCount: 2,
  trainingCustomersPerInstance: TRAINING_CUSTOMERS_PER_INSTANCE.default,
  trainingSpot: true,
  trainingMaxRuntimeSeconds: 4 * 3600,
  pipelineCpu: 512,
  pipelineMemoryMiB: 1024,
  scheduleCron: 'cron(0 2 * * ? *)',
  scheduleTimezone: 'UTC',
  scheduleEnabled: true,
  scheduleRetryAttempts: 2,
  scheduleMaxEventAgeSeconds: 3600,
  retentionDays: DEFAULT_RETENTION_DAYS,
  noncurrentVersionDays: DEFAULT_NONCURRENT_VERSION_DAYS,
  dropAfterDays: DEFAULT_DROP_AFTER_DAYS,
  logRetentionDays: 30,
  metricsNamespace: DEFAULT_METRICS_NAMESPACE,
  alarmRejectedShare: 0.05,
  alarmQuarantinedShare: 0.01,
  networkCidr: '10.64.0.0/20',
} as const;

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Fargate's CPU units and the memory (MiB) each allows, for the sizes a pipeline task could use. */
const FARGATE_MEMORY: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 1024],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
};

const SAGEMAKER_INSTANCE_TYPE = /^ml\.[a-z0-9-]+\.[a-z0-9]+$/;

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
  readonly code = 'E_STACK_CONFIG';
  constructor(
    readonly project: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid stack configuration (nothing was created):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Parses the raw config strings (as Pulumi stores them: objects as JSON text) into a `StackConfig`,
 * collecting every problem; throws one `StackConfigError` listing them all, each naming its key.
 */
export function parseStackConfig(
  project: string,
  raw: Readonly<Partial<Record<ConfigKey, string>>>,
  region: string | undefined,
): StackConfig {
  const problems: string[] = [];
  const r = new RawReader(project, raw, problems);

  if (region === undefined || region === '') {
    problems.push('[aws:region] is not set; expected an AWS region such as eu-west-1 (pulumi config set aws:region eu-west-1)');
  } else if (!/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/.test(region)) {
    problems.push(`[aws:region] is ${JSON.stringify(region)}; expected an AWS region such as eu-west-1`);
  }

  const endpointInstanceType = r.instanceType('endpointInstanceType');
  const endpointInstanceCount = r.integer('endpointInstanceCount', 1, 100);
  const modelLoadingWaitAlarmMs = r.integer('modelLoadingWaitAlarmMs', 1, 3_600_000);

  const autoscalingEnabled = r.boolean('autoscalingEnabled');
  const minInstances = r.integer('autoscalingMinInstances', 1, 100);
  const maxInstances = r.integer('autoscalingMaxInstances', 1, 100);
  const targetInvocations = r.integer('autoscalingTargetInvocations', 1, 1_000_000);
  const scaleIn = r.integer('autoscalingScaleInCooldownSeconds', 0, 86_400);
  const scaleOut = r.integer('autoscalingScaleOutCooldownSeconds', 0, 86_400);
  if (autoscalingEnabled && minInstances > maxInstances) {
    problems.push(
      `${r.key('autoscalingMinInstances')} is ${minInstances} but ${r.key('autoscalingMaxInstances')} is ${maxInstances}; expected min <= max`,
    );
  }
  if (autoscalingEnabled && (endpointInstanceCount < minInstances || endpointInstanceCount > maxInstances)) {
    problems.push(
      `${r.key('endpointInstanceCount')} is ${endpointInstanceCount}; with autoscaling on it must lie within ` +
        `[${r.key('autoscalingMinInstances')}, ${r.key('autoscalingMaxInstances')}] = [${minInstances}, ${maxInstances}]`,
    );
  }

  const processingInstanceType = r.instanceType('processingInstanceType');
  // The processing step groups rows by customer across every raw file, so one instance must see them all.
  const processingInstanceCount = r.integer('processingInstanceCount', 1, 1);
  const trainingInstanceType = r.instanceType('trainingInstanceType');
  const trainingInstanceCount = r.integer('trainingInstanceCount', 1, 100);
  const trainingCustomersPerInstance = r.integer('trainingCustomersPerInstance', TRAINING_CUSTOMERS_PER_INSTANCE.min, TRAINING_CUSTOMERS_PER_INSTANCE.max);
  const trainingSpot = r.boolean('trainingSpot');
  const trainingMaxRuntimeSeconds = r.integer('trainingMaxRuntimeSeconds', 60, MAX_TRAINING_RUNTIME_SECONDS);
  const hyperparameters = r.stringMap('hyperparameters', MAX_HYPERPARAMETERS, MAX_HYPERPARAMETER_LENGTH, MAX_HYPERPARAMETER_LENGTH);

  const pipelineCpu = r.integer('pipelineCpu', 256, 4096);
  const pipelineMemoryMiB = r.integer('pipelineMemoryMiB', 512, 30_720);
  const memory = FARGATE_MEMORY[pipelineCpu];
  if (memory === undefined) {
    problems.push(`${r.key('pipelineCpu')} is ${pipelineCpu}; expected one of Fargate's CPU sizes ${Object.keys(FARGATE_MEMORY).join(', ')}`);
  } else {
    const [min, max, step] = memory;
    if (pipelineMemoryMiB < min || pipelineMemoryMiB > max || pipelineMemoryMiB % step !== 0) {
      problems.push(
        `${r.key('pipelineMemoryMiB')} is ${pipelineMemoryMiB}; with ${pipelineCpu} CPU units Fargate allows ${min}-${max} MiB in steps of ${step}`,
      );
    }
  }

  const scheduleCron = r.text('scheduleCron');
  const cronProblem = checkScheduleExpression(scheduleCron);
  if (cronProblem !== undefined) problems.push(`${r.key('scheduleCron')} is ${JSON.stringify(scheduleCron)}; ${cronProblem}`);
  const scheduleTimezone = r.text('scheduleTimezone');
  if (!isTimeZone(scheduleTimezone)) {
    problems.push(`${r.key('scheduleTimezone')} is ${JSON.stringify(scheduleTimezone)}; expected an IANA time zone such as Europe/Berlin`);
  }
  const scheduleEnabled = r.boolean('scheduleEnabled');
  const scheduleRetryAttempts = r.integer('scheduleRetryAttempts', 0, 185);
  const scheduleMaxEventAgeSeconds = r.integer('scheduleMaxEventAgeSeconds', 60, 86_400);

  const retentionDays = r.integer('retentionDays', 1, MAX_DATA_LIFE_DAYS);
  const noncurrentVersionDays = r.integer('noncurrentVersionDays', 1, MAX_DATA_LIFE_DAYS);
  const dropAfterDays = r.integer('dropAfterDays', 1, MAX_DATA_LIFE_DAYS);
  const logRetentionDays = r.integer('logRetentionDays', 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(`${r.key('logRetentionDays')} is ${logRetentionDays}; CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(', ')}`);
  }

  const alarmEmail = r.optionalText('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    problems.push(`${r.key('alarmEmail')} is ${JSON.stringify(alarmEmail)}; expected an e-mail address or no value`);
  }
  const metricsNamespace = r.text('metricsNamespace');
  if (!METRICS_NAMESPACE_PATTERN.test(metricsNamespace)) {
    problems.push(
      `${r.key('metricsNamespace')} is ${JSON.stringify(metricsNamespace)}; expected a CloudWatch namespace ` +
        '(1-255 letters, digits, spaces and . _ # : / -, not starting with AWS/)',
    );
  }
  const alarmRejectedShare = r.share('alarmRejectedShare');
  const alarmQuarantinedShare = r.share('alarmQuarantinedShare');
  const tags = r.stringMap('tags', 45, 128, 256);
  for (const key of Object.keys(tags)) {
    if (key.toLowerCase().startsWith('aws:')) problems.push(`${r.key('tags')}.${key}: tag keys starting with "aws:" are reserved by AWS`);
  }
  const networkCidr = r.text('networkCidr');
  const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(networkCidr);
  if (cidr === null || cidr.slice(1, 5).some((octet) => Number(octet) > 255) || Number(cidr[5]) < 16 || Number(cidr[5]) > 24) {
    problems.push(`${r.key('networkCidr')} is ${JSON.stringify(networkCidr)}; expected an IPv4 CIDR block from /16 to /24 such as 10.64.0.0/20`);
  }

  const publishing = parsePublishingRules((key) => r.optionalText(key), (key) => r.key(key), problems);

  if (problems.length > 0) throw new StackConfigError(project, problems);
  return Object.freeze({
    region: region ?? '',
    endpoint: { instanceType: endpointInstanceType, instanceCount: endpointInstanceCount, modelLoadingWaitAlarmMicros: modelLoadingWaitAlarmMs * 1000 },
    autoscaling: autoscalingEnabled
      ? {
          minInstances,
          maxInstances,
          targetInvocationsPerInstance: targetInvocations,
          scaleInCooldownSeconds: scaleIn,
          scaleOutCooldownSeconds: scaleOut,
        }
      : undefined,
    processing: { instanceType: processingInstanceType, instanceCount: processingInstanceCount },
    training: {
      instanceType: trainingInstanceType,
      instanceCount: trainingInstanceCount,
      customersPerInstance: trainingCustomersPerInstance,
      spot: trainingSpot,
      maxRuntimeSeconds: trainingMaxRuntimeSeconds,
      hyperparameters,
    },
    pipeline: { cpu: pipelineCpu, memoryMiB: pipelineMemoryMiB },
    publishing,
    schedule: {
      expression: scheduleCron,
      timezone: scheduleTimezone,
      enabled: scheduleEnabled,
      retryAttempts: scheduleRetryAttempts,
      maxEventAgeSeconds: scheduleMaxEventAgeSeconds,
    },
    retentionDays,
    noncurrentVersionDays,
    dropAfterDays,
    logRetentionDays,
    alarmEmail,
    monitoring: { metricsNamespace, alarmRejectedShare, alarmQuarantinedShare },
    tags,
    networkCidr,
  });
}

/** Reads the current stack's configuration through Pulumi and validates it. */
export function loadStackConfig(): StackConfig {
  const config = new pulumi.Config();
  const raw: Partial<Record<ConfigKey, string>> = {};
  for (const key of CONFIG_KEYS) {
    const value = config.get(key);
    if (value !== undefined) raw[key] = value;
  }
  return parseStackConfig(pulumi.getProject(), raw, new pulumi.Config('aws').get('region'));
}

/**
 * EventBridge Scheduler's cron has six fields (minutes hours day-of-month month day-of-week year) and
 * needs `?` in one of the two day fields. Returns what is wrong, or undefined.
 */
export function checkScheduleExpression(expression: string): string | undefined {
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron === null) return 'expected cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 2 * * ? *)';
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6) return `expected 6 cron fields (minutes hours day-of-month month day-of-week year), found ${fields.length}`;
  const [minutes, hours, dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) return 'exactly one of day-of-month and day-of-week must be "?"';
  const numberOrList = /^(\*|\d{1,2}([-,]\d{1,2})*(\/\d{1,2})?)$/;
  if (!numberOrList.test(minutes ?? '') || !numberOrList.test(hours ?? '')) return 'minutes and hours must be numbers, ranges, lists or *';
  return undefined;
}

function isTimeZone(zone: string): boolean {
  if (zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Reads one raw value per key, falling back to the default; records a problem naming the key on bad input. */
class RawReader {
  constructor(
    private readonly project: string,
    private readonly raw: Readonly<Partial<Record<ConfigKey, string>>>,
    private readonly problems: string[],
  ) {}

  key(key: ConfigKey): string {
    return `[${this.project}:${key}]`;
  }

  optionalText(key: ConfigKey): string | undefined {
    const value = this.raw[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  text(key: ConfigKey & keyof typeof CONFIG_DEFAULTS): string {
    return this.optionalText(key) ?? String(CONFIG_DEFAULTS[key]);
  }

  instanceType(key: ConfigKey & keyof typeof CONFIG_DEFAULTS): string {
    const value = this.text(key);
    if (!SAGEMAKER_INSTANCE_TYPE.test(value)) {
      this.problems.push(`${this.key(key)} is ${JSON.stringify(value)}; expected a SageMaker instance type such as ml.c5.xlarge`);
    }
    return value;
  }

  integer(key: ConfigKey & keyof typeof CONFIG_DEFAULTS, min: number, max: number): number {
    const fallback = CONFIG_DEFAULTS[key] as number;
    const value = this.optionalText(key);
    if (value === undefined) return fallback;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const expected = min === max ? `${min}` : `an integer from ${min} to ${max}`;
      this.problems.push(`${this.key(key)} is ${JSON.stringify(value)}; expected ${expected}`);
      return fallback;
    }
    return parsed;
  }

  /** A number from 0 to 1. */
  share(key: ConfigKey & keyof typeof CONFIG_DEFAULTS): number {
    const fallback = CONFIG_DEFAULTS[key] as number;
    const value = this.optionalText(key);
    if (value === undefined) return fallback;
    const parsed = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    if (!(parsed >= 0 && parsed <= 1)) {
      this.problems.push(`${this.key(key)} is ${JSON.stringify(value)}; expected a share from 0 to 1 such as 0.05`);
      return fallback;
    }
    return parsed;
  }

  boolean(key: ConfigKey & keyof typeof CONFIG_DEFAULTS): boolean {
    const value = this.optionalText(key);
    if (value === undefined) return CONFIG_DEFAULTS[key] as boolean;
    if (value === 'true') return true;
    if (value === 'false') return false;
    this.problems.push(`${this.key(key)} is ${JSON.stringify(value)}; expected true or false`);
    return CONFIG_DEFAULTS[key] as boolean;
  }

  /** A YAML/JSON object whose values are strings (numbers and booleans are written as typed). */
  stringMap(key: ConfigKey, maxEntries: number, maxKeyLength: number, maxValueLength: number): Readonly<Record<string, string>> {
    const text = this.optionalText(key);
    if (text === undefined) return Object.freeze({});
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.problems.push(`${this.key(key)} is ${JSON.stringify(text)}; expected an object of strings such as {"team": "forecasting"}`);
      return Object.freeze({});
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problems.push(`${this.key(key)} is ${JSON.stringify(value)}; expected an object of strings`);
      return Object.freeze({});
    }
    const entries = Object.entries(value);
    if (entries.length > maxEntries) this.problems.push(`${this.key(key)} has ${entries.length} entries; at most ${maxEntries} are allowed`);
    const result: Record<string, string> = {};
    for (const [name, entry] of entries) {
      const asString = typeof entry === 'string' ? entry : typeof entry === 'number' || typeof entry === 'boolean' ? String(entry) : undefined;
      if (asString === undefined) {
        this.problems.push(`${this.key(key)}.${name} is ${JSON.stringify(entry)}; expected a string`);
        continue;
      }
      if (name.length === 0 || name.length > maxKeyLength) {
        this.problems.push(`${this.key(key)} has a key of ${name.length} characters; expected 1-${maxKeyLength}`);
      }
      if (asString.length > maxValueLength) {
        this.problems.push(`${this.key(key)}.${name} has ${asString.length} characters; at most ${maxValueLength} are allowed`);
      }
      result[name] = asString;
    }
    return Object.freeze(result);
  }
}
