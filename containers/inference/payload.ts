import path from 'node:path';
import { InferenceError } from './errors.js';

/** Longest forecast an invocation may ask for: one year ahead, leap day included. */
export const MAX_PERIOD_DAYS = 366;

/** Largest request body accepted; an invocation is `{"period": N}`, a load two short strings. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface InvokeRequest {
  period: number;
}

export interface LoadRequest {
  modelName: string;
  url: string;
}

export interface ListQuery {
  limit: number;
  /** Names strictly after this one (in sorted order) make up the page; absent for the first page. */
  after: string | undefined;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
const MAX_MODEL_NAME_LENGTH = 1024;

function parseJsonBody(raw: string | undefined, what: string): unknown {
  if (raw === undefined || raw.trim() === '') {
    throw new InferenceError('E_BODY_EMPTY', `The ${what} body is empty; expected a JSON object.`);
  }
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new InferenceError(
      'E_BODY_NOT_JSON',
      `The ${what} body is not JSON (${(error as Error).message}); received ${preview(raw)}.`,
    );
  }
}

function preview(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

function asObject(value: unknown, what: string, raw: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InferenceError('E_BODY_NOT_OBJECT', `The ${what} body must be a JSON object; received ${preview(raw)}.`);
  }
  return value as Record<string, unknown>;
}

/**
 * Parses an invocation body: `{"period": N}`, or the same object JSON-encoded a second time as a
 * JSON string (`"{\"period\": 7}"`), which is what the seed's client sent.
 */
export function parseInvokeBody(raw: string | undefined, maxPeriod: number = MAX_PERIOD_DAYS): InvokeRequest {
  let value = parseJsonBody(raw, 'invocation');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new InferenceError(
        'E_BODY_NOT_JSON',
        `The invocation body is a JSON string whose content is not JSON (${(error as Error).message}); ` +
          `expected {"period": N} or its JSON-encoded form "{\\"period\\": N}".`,
      );
    }
  }
  const body = asObject(value, 'invocation', raw ?? '');
  if (!('period' in body)) {
    throw new InferenceError('E_PERIOD_MISSING', `The invocation body has no [period]; expected {"period": N} with N from 1 to ${maxPeriod}.`);
  }
  const period = body.period;
  if (typeof period !== 'number' || !Number.isInteger(period)) {
    throw new InferenceError(
      'E_PERIOD_NOT_INTEGER',
      `[period] must be an integer number of days; received ${JSON.stringify(period)}.`,
    );
  }
  if (period < 1 || period > maxPeriod) {
    throw new InferenceError('E_PERIOD_OUT_OF_RANGE', `[period] must be from 1 to ${maxPeriod} days; received ${period}.`);
  }
  return { period };
}

/** Parses the multi-model contract's load body `{"model_name": "...", "url": "/opt/ml/models/<name>/model"}`. */
export function parseLoadBody(raw: string | undefined): LoadRequest {
  const body = asObject(parseJsonBody(raw, 'load'), 'load', raw ?? '');
  const modelName = body.model_name;
  if (typeof modelName !== 'string' || modelName === '' || modelName.length > MAX_MODEL_NAME_LENGTH) {
    throw new InferenceError(
      'E_MODEL_NAME_INVALID',
      `[model_name] must be a non-empty string of at most ${MAX_MODEL_NAME_LENGTH} characters; received ${JSON.stringify(modelName) ?? 'nothing'}.`,
    );
  }
  if (/[\u0000-\u001f\u007f]/.test(modelName)) {
    throw new InferenceError('E_MODEL_NAME_INVALID', `[model_name] must not contain control characters; received ${JSON.stringify(modelName)}.`);
  }
  const url = body.url;
  if (typeof url !== 'string' || !path.isAbsolute(url)) {
    throw new InferenceError(
      'E_MODEL_URL_INVALID',
      `[url] must be the absolute path of the folder holding model.json; received ${JSON.stringify(url) ?? 'nothing'}.`,
    );
  }
  return { modelName, url };
}

/** Cursor tokens are opaque to clients: base64url of the last name of the previous page. */
export function encodePageToken(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64url');
}

export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const rawLimit = query.limit;
  let limit = DEFAULT_PAGE_SIZE;
  if (rawLimit !== undefined) {
    limit = typeof rawLimit === 'string' && /^\d+$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
      throw new InferenceError('E_PAGINATION_INVALID', `[limit] must be an integer from 1 to ${MAX_PAGE_SIZE}; received ${JSON.stringify(rawLimit)}.`);
    }
  }
  const token = query.next_page_token;
  if (token === undefined || token === '') return { limit, after: undefined };
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw new InferenceError(
      'E_PAGINATION_INVALID',
      `[next_page_token] must be a token returned as nextPageToken by GET /models; received ${JSON.stringify(token)}.`,
    );
  }
  return { limit, after: Buffer.from(token, 'base64url').toString('utf8') };
}
