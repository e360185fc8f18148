import type { InvokeEndpointCommandInput } from '@aws-sdk/client-sagemaker-runtime';
import { SAGEMAKER_NAME_PATTERN, TARGET_MODEL_MAX_LENGTH, TARGET_MODEL_PATTERN } from '../config/sagemaker-limits.js';

/**
 * The wire format of one forecast through a multi-model endpoint: the `InvokeEndpoint` request the
 * client sends and the JSON the inference container answers. Pure functions, shared by the client
 * and the pipeline's validation step, so both speak exactly the same protocol.
 */

/** One future day of a forecast. */
export interface ForecastPoint {
  /** `YYYY-MM-DD`. */
  readonly date: string;
  readonly yhat: number;
  readonly yhat_lower: number;
  readonly yhat_upper: number;
}

/** What the inference container answers for one customer's model. */
export interface ForecastResult {
  readonly customerId: string;
  /** The model that answered, as the container names it. */
  readonly model: string;
  readonly runId: string;
  readonly period: number;
  readonly forecast: readonly ForecastPoint[];
}

export interface InvokeRequestSpec {
  readonly endpointName: string;
  /** `<runId>/<customerId>.tar.gz`, relative to the endpoint's `ModelDataUrl`. */
  readonly targetModel: string;
  /** Days ahead; the inference container decides which range it serves. */
  readonly period: number;
}

/** Thrown when a request cannot be built or a response does not follow the contract. */
export class ForecastWireError extends Error {
  override readonly name = 'ForecastWireError';
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The `InvokeEndpoint` input asking `targetModel` for `period` days ahead. */
export function buildInvokeInput(spec: InvokeRequestSpec): InvokeEndpointCommandInput {
  if (!SAGEMAKER_NAME_PATTERN.test(spec.endpointName)) {
    throw new ForecastWireError(
      `[endpointName] ${JSON.stringify(spec.endpointName)} is not a SageMaker endpoint name: expected 1-63 letters, digits and single hyphens`,
    );
  }
  if (
    spec.targetModel.length === 0 ||
    spec.targetModel.length > TARGET_MODEL_MAX_LENGTH ||
    !TARGET_MODEL_PATTERN.test(spec.targetModel)
  ) {
    throw new ForecastWireError(
      `[targetModel] ${JSON.stringify(spec.targetModel)} is not a valid TargetModel: expected 1-${TARGET_MODEL_MAX_LENGTH} printable characters, not starting with a space`,
    );
  }
  if (!Number.isSafeInteger(spec.period)) {
    throw new ForecastWireError(`[period] ${String(spec.period)} is not an integer number of days`);
  }
  return {
    EndpointName: spec.endpointName,
    TargetModel: spec.targetModel,
    ContentType: 'application/json',
    Accept: 'application/json',
    Body: new TextEncoder().encode(JSON.stringify({ period: spec.period })),
  };
}

/** Parses and validates the body `InvokeEndpoint` returned; every problem names the field. */
export function parseForecastResponse(body: Uint8Array | string): ForecastResult {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ForecastWireError(`forecast response is not JSON: ${preview(text)}`, { cause: error });
  }
  if (!isRecord(value)) throw new ForecastWireError(`forecast response is not a JSON object: ${preview(text)}`);

  const customerId = customerIdOf(value.customerId);
  const model = nonEmptyString(value.model, 'model');
  const runId = nonEmptyString(value.runId, 'runId');
  const period = value.period;
  if (typeof period !== 'number' || !Number.isSafeInteger(period) || period < 1) {
    throw new ForecastWireError(`forecast response [period] is ${JSON.stringify(period)}: expected a positive integer`);
  }
  if (!Array.isArray(value.forecast)) {
    throw new ForecastWireError(`forecast response [forecast] is ${typeOf(value.forecast)}: expected an array`);
  }
  if (value.forecast.length !== period) {
    throw new ForecastWireError(
      `forecast response [forecast] has ${value.forecast.length} entries for period ${period}: expected one per day`,
    );
  }
  const forecast = value.forecast.map((entry: unknown, i: number) => forecastPointOf(entry, i));
  return { customerId, model, runId, period, forecast };
}

function forecastPointOf(entry: unknown, index: number): ForecastPoint {
  const at = `forecast response [forecast[${index}]]`;
  if (!isRecord(entry)) throw new ForecastWireError(`${at} is ${typeOf(entry)}: expected an object`);
  const { date } = entry;
  if (typeof date !== 'string' || !ISO_DAY.test(date) || Number.isNaN(Date.parse(date))) {
    throw new ForecastWireError(`${at}.date is ${JSON.stringify(date)}: expected YYYY-MM-DD`);
  }
  const number = (key: 'yhat' | 'yhat_lower' | 'yhat_upper'): number => {
    const n = entry[key];
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw new ForecastWireError(`${at}.${key} is ${JSON.stringify(n)}: expected a finite number`);
    }
    return n;
  };
  const point = { date, yhat: number('yhat'), yhat_lower: number('yhat_lower'), yhat_upper: number('yhat_upper') };
  if (point.yhat_lower > point.yhat_upper) {
    throw new ForecastWireError(`${at} has yhat_lower ${point.yhat_lower} above yhat_upper ${point.yhat_upper}`);
  }
  return point;
}

// Customer ids are integers; containers may send them as numbers or strings.
function customerIdOf(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ForecastWireError(`forecast response [customerId] is ${JSON.stringify(value)}: expected an integer or a non-empty string`);
}

function nonEmptyString(value: unknown, key: string): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ForecastWireError(`forecast response [${key}] is ${JSON.stringify(value)}: expected a non-empty string`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}
