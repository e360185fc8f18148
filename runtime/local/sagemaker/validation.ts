import { validationError } from './errors.js';
import { environmentKeyProblem } from './job-environment.js';
import { SAGEMAKER_NAME_MAX_LENGTH, SAGEMAKER_NAME_PATTERN } from '../../config/sagemaker-limits.js';

/** AWS's validation messages quote the name pattern without its closing anchor. */
const NAME_PATTERN_TEXT = SAGEMAKER_NAME_PATTERN.source.replace(/\$$/, '');

/** awsJson1_1 members are PascalCase; AWS's validation messages name them in camelCase. */
const memberPath = (path: string) => path.split('.').map((p) => p.charAt(0).toLowerCase() + p.slice(1)).join('.');
const show = (value: unknown) => (value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`);

/**
 * Collects constraint violations in AWS's wording ("1 validation error detected: Value 'x' at
 * 'trainingJobName' failed to satisfy constraint: …") and throws them as one ValidationException.
 */
export class RequestChecker {
  readonly #errors: string[] = [];

  #fail(value: unknown, path: string, constraint: string): void {
    this.#errors.push(`Value ${show(value)} at '${memberPath(path)}' failed to satisfy constraint: ${constraint}`);
  }

  /** Checks presence; returns whether the value is there so callers can skip dependent checks. */
  required(value: unknown, path: string): boolean {
    if (value === undefined || value === null) {
      this.#fail(value, path, 'Member must not be null');
      return false;
    }
    return true;
  }

  string(value: unknown, path: string, rules: { required?: boolean; pattern?: RegExp; patternText?: string; min?: number; max?: number; oneOf?: readonly string[] } = {}): value is string {
    if (value === undefined || value === null) {
      if (rules.required) this.#fail(value, path, 'Member must not be null');
      return false;
    }
    if (typeof value !== 'string') {
      this.#fail(value, path, 'Member must be a string');
      return false;
    }
    if (rules.min !== undefined && value.length < rules.min) this.#fail(value, path, `Member must have length greater than or equal to ${rules.min}`);
    if (rules.max !== undefined && value.length > rules.max) this.#fail(value, path, `Member must have length less than or equal to ${rules.max}`);
    if (rules.pattern && !rules.pattern.test(value)) this.#fail(value, path, `Member must satisfy regular expression pattern: ${rules.patternText ?? rules.pattern.source}`);
    if (rules.oneOf && !rules.oneOf.includes(value)) this.#fail(value, path, `Member must satisfy enum value set: [${rules.oneOf.join(', ')}]`);
    return true;
  }

  name(value: unknown, path: string): value is string {
    return this.string(value, path, { required: true, pattern: SAGEMAKER_NAME_PATTERN, patternText: NAME_PATTERN_TEXT, max: SAGEMAKER_NAME_MAX_LENGTH });
  }

  integer(value: unknown, path: string, rules: { required?: boolean; min?: number; max?: number } = {}): value is number {
    if (value === undefined || value === null) {
      if (rules.required) this.#fail(value, path, 'Member must not be null');
      return false;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.#fail(value, path, 'Member must be an integer');
      return false;
    }
    if (rules.min !== undefined && value < rules.min) this.#fail(value, path, `Member must have value greater than or equal to ${rules.min}`);
    if (rules.max !== undefined && value > rules.max) this.#fail(value, path, `Member must have value less than or equal to ${rules.max}`);
    return true;
  }

  boolean(value: unknown, path: string): void {
    if (value !== undefined && value !== null && typeof value !== 'boolean') this.#fail(value, path, 'Member must be a boolean');
  }

  object(value: unknown, path: string, required = false): value is Record<string, unknown> {
    if (value === undefined || value === null) {
      if (required) this.#fail(value, path, 'Member must not be null');
      return false;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.#fail(value, path, 'Member must be a structure');
      return false;
    }
    return true;
  }

  array(value: unknown, path: string, rules: { required?: boolean; min?: number; max?: number } = {}): value is unknown[] {
    if (value === undefined || value === null) {
      if (rules.required) this.#fail(value, path, 'Member must not be null');
      return false;
    }
    if (!Array.isArray(value)) {
      this.#fail(value, path, 'Member must be a list');
      return false;
    }
    if (rules.min !== undefined && value.length < rules.min) this.#fail(value, path, `Member must have length greater than or equal to ${rules.min}`);
    if (rules.max !== undefined && value.length > rules.max) this.#fail(value, path, `Member must have length less than or equal to ${rules.max}`);
    return true;
  }

  stringMap(value: unknown, path: string, rules: { maxEntries: number; maxKey: number; maxValue: number }): void {
    if (!this.object(value, path)) return;
    const entries = Object.entries(value);
    if (entries.length > rules.maxEntries) this.#fail(value, path, `Member must have length less than or equal to ${rules.maxEntries}`);
    for (const [key, entry] of entries) {
      if (key.length > rules.maxKey) this.#fail(key, `${path}.key`, `Member must have length less than or equal to ${rules.maxKey}`);
      if (typeof entry !== 'string') this.#fail(entry, `${path}.${key}`, 'Member must be a string');
      else if (entry.length > rules.maxValue) this.#fail(entry, `${path}.${key}`, `Member must have length less than or equal to ${rules.maxValue}`);
    }
  }

  /** A job's or model's `Environment`: a string map whose keys local mode may pass to a process. */
  environment(value: unknown, path: string, rules: { maxEntries: number; maxKey: number; maxValue: number }): void {
    this.stringMap(value, path, rules);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const key of Object.keys(value)) {
      const problem = environmentKeyProblem(key);
      if (problem) this.#errors.push(`${problem} (at '${memberPath(path)}')`);
    }
  }

  /** A rule the generic checks cannot express; `message` is used as is. */
  custom(ok: boolean, message: string): void {
    if (!ok) this.#errors.push(message);
  }

  throwIfAny(): void {
    if (this.#errors.length === 0) return;
    const count = this.#errors.length;
    throw validationError(`${count} validation error${count === 1 ? '' : 's'} detected: ${this.#errors.join('; ')}`);
  }
}

export interface S3Location { bucket: string; key: string }

/** Splits `s3://bucket/key…`; undefined when the URI is not one. */
export function parseS3Uri(uri: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return match ? { bucket: match[1] ?? '', key: match[2] ?? '' } : undefined;
}

export const S3_URI_PATTERN = /^(https|s3):\/\/([^/]+)\/?(.*)$/;
