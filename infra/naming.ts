import { createHash } from 'node:crypto';
import { MAX_JOB_NAME_PREFIX_LENGTH } from '../runtime/config/pipeline-config.js';

export { MAX_JOB_NAME_PREFIX_LENGTH };

/**
 * Physical names the stack fixes itself, derived from project and stack. They are fixed (rather than
 * auto-named) where something outside the program refers to them: clients call the endpoint by name,
 * IAM grants the pipeline only jobs named with the prefix, and role policies are written before the
 * cluster, task family, log group and queue exist (fixed names break that cycle).
 */
export interface StackNames {
  /** `<project>-<stack>`, lowercase, at most 40 characters. */
  readonly base: string;
  readonly endpoint: string;
  /** Every SageMaker job the pipeline creates is named `<jobNamePrefix>-…`. */
  readonly jobNamePrefix: string;
  readonly cluster: string;
  readonly taskFamily: string;
  readonly pipelineLogGroup: string;
  readonly deadLetterQueue: string;
  readonly schedule: string;
  readonly endpointKeyAlias: string;
  readonly bucketPrefix: string;
  readonly repository: (image: string) => string;
  readonly alarm: (what: string) => string;
  /** CloudWatch dashboard: letters, digits, `-` and `_`, at most 255. */
  readonly dashboard: string;
}

/** S3 `bucketPrefix` may be at most 37 characters (the provider appends a 26-character unique id). */
const MAX_BUCKET_PREFIX_LENGTH = 37;

export function stackNames(project: string, stack: string): StackNames {
  const base = shorten(sanitize(`${project}-${stack}`), 40);
  const jobNamePrefix = shorten(base, MAX_JOB_NAME_PREFIX_LENGTH);
  return Object.freeze({
    base,
    endpoint: base,
    jobNamePrefix,
    cluster: base,
    taskFamily: `${base}-pipeline`,
    pipelineLogGroup: `/${sanitize(project)}/${sanitize(stack)}/pipeline`,
    deadLetterQueue: `${base}-schedule-dlq`,
    schedule: `${base}-nightly`,
    endpointKeyAlias: `${base}-endpoint`,
    bucketPrefix: `${shorten(base, MAX_BUCKET_PREFIX_LENGTH - 1)}-`,
    repository: (image: string) => `${sanitize(project)}/${sanitize(stack)}/${image}`,
    alarm: (what: string) => `${base}-${what}`,
    dashboard: `${base}-nightly`,
  });
}

/** Lowercase letters, digits and single inner hyphens: valid for SageMaker, S3, ECR, ECS and SQS alike. */
function sanitize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Keeps names within `max` characters; a truncated name ends in a short hash so two stacks never collide. */
function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${name.slice(0, max - 7).replace(/-+$/, '')}-${hash}`;
}
