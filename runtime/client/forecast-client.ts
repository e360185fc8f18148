import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pRetry from 'p-retry';
import { CURRENT_MANIFEST_KEY, parseManifest } from '../pipeline/manifest.js';
import type { Manifest, ManifestEntry } from '../pipeline/manifest.js';
import { buildInvokeInput, ForecastWireError, parseForecastResponse } from './forecast-wire.js';
import type { ForecastResult } from './forecast-wire.js';

/**
 * The forecast client: resolves a customer's `TargetModel` from `manifests/current.json` and asks the
 * multi-model endpoint for a forecast through the AWS SDK. Nothing here knows about local mode; the
 * SDK's `AWS_ENDPOINT_URL` decides where requests go.
 */

export interface ModelNotReadyRetry {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly minDelayMs: number;
  /** Cap of the exponential backoff between two attempts. */
  readonly maxDelayMs: number;
  /** Give up after this long; AWS keeps loading a model in the background for up to 360 s. */
  readonly maxRetryTimeMs: number;
}

export interface ForecastClientOptions {
  readonly bucket: string;
  readonly endpointName: string;
  readonly s3?: S3Client;
  readonly runtime?: SageMakerRuntimeClient;
  /** How long a fetched manifest is trusted before it is read again (default 60 s). */
  readonly manifestTtlMs?: number;
  readonly modelNotReadyRetry?: Partial<ModelNotReadyRetry>;
  /** Called before each retry of a model that is still loading, for progress output. */
  readonly onModelNotReady?: (info: { customerId: string; targetModel: string; attempt: number }) => void;
}

/** A forecast with where it came from. */
export interface Forecast extends ForecastResult {
  /** The `TargetModel` the endpoint was asked for. */
  readonly targetModel: string;
}

export type ForecastErrorCode =
  | 'E_NO_MANIFEST'
  | 'E_UNKNOWN_CUSTOMER'
  | 'E_INVOKE_FAILED'
  | 'E_BAD_RESPONSE';

/** Every failure of the client: names the customer and keeps the SDK's exception as `cause`. */
export class ForecastError extends Error {
  override readonly name = 'ForecastError';
  constructor(
    readonly code: ForecastErrorCode,
    readonly customerId: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ForecastClient {
  /** Forecast of `customerId` for `period` days after the end of its training history. */
  forecast(customerId: string | number, period: number): Promise<Forecast>;
  /** The manifest in use (read again when older than the TTL). */
  manifest(): Promise<Manifest>;
  /** The manifest entry of a customer, or undefined when the customer has no model. */
  entry(customerId: string | number): Promise<ManifestEntry | undefined>;
}

export const DEFAULT_MANIFEST_TTL_MS = 60_000;
export const DEFAULT_MODEL_NOT_READY_RETRY: ModelNotReadyRetry = {
  retries: 10,
  minDelayMs: 100,
  maxDelayMs: 5_000,
  maxRetryTimeMs: 360_000,
};

export function createForecastClient(options: ForecastClientOptions): ForecastClient {
  const s3 = options.s3 ?? new S3Client({});
  const runtime = options.runtime ?? new SageMakerRuntimeClient({});
  const ttlMs = options.manifestTtlMs ?? DEFAULT_MANIFEST_TTL_MS;
  const retry = { ...DEFAULT_MODEL_NOT_READY_RETRY, ...options.modelNotReadyRetry };
  const manifestUri = `s3://${options.bucket}/${CURRENT_MANIFEST_KEY}`;

  let cached: { manifest: Manifest; fetchedAt: number } | undefined;
  // One read at a time: concurrent callers share it instead of stampeding S3.
  let reading: Promise<Manifest> | undefined;

  // Not tied to one customer: concurrent callers share the read, and its failure.
  async function readManifest(): Promise<Manifest> {
    let text: string;
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: CURRENT_MANIFEST_KEY }));
      text = (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      const name = (error as Error).name;
      const hint = name === 'NoSuchKey' || name === 'NoSuchBucket' ? ': no run has been published yet (run the pipeline, e.g. `npm start`)' : '';
      throw new ForecastError('E_NO_MANIFEST', undefined, `cannot read ${manifestUri} (${name})${hint}`, { cause: error });
    }
    try {
      return parseManifest(text, manifestUri);
    } catch (error) {
      throw new ForecastError('E_NO_MANIFEST', undefined, (error as Error).message, { cause: error });
    }
  }

  function refresh(): Promise<Manifest> {
    reading ??= readManifest()
      .then((manifest) => {
        cached = { manifest, fetchedAt: Date.now() };
        return manifest;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  }

  async function manifest(): Promise<Manifest> {
    if (cached && Date.now() - cached.fetchedAt < ttlMs) return cached.manifest;
    return refresh();
  }

  // A customer missing from a cached manifest may have been added by a newer run: read it again once.
  async function resolve(customerId: string): Promise<ManifestEntry> {
    const current = await manifest();
    const entry = current.models[customerId] ?? (await refresh()).models[customerId];
    if (entry) return entry;
    const latest = cached?.manifest ?? current;
    throw new ForecastError(
      'E_UNKNOWN_CUSTOMER',
      customerId,
      `customer ${customerId} has no model in ${manifestUri} (run ${latest.runId}, ${Object.keys(latest.models).length} customers)`,
    );
  }

  async function invoke(customerId: string, targetModel: string, period: number): Promise<Forecast> {
    let input;
    try {
      input = buildInvokeInput({ endpointName: options.endpointName, targetModel, period });
    } catch (error) {
      throw new ForecastError('E_INVOKE_FAILED', customerId, `customer ${customerId}: ${(error as Error).message}`, { cause: error });
    }
    const output = await pRetry(() => runtime.send(new InvokeEndpointCommand(input)), {
      retries: retry.retries,
      minTimeout: retry.minDelayMs,
      maxTimeout: retry.maxDelayMs,
      maxRetryTime: retry.maxRetryTimeMs,
      shouldRetry: ({ error }) => error.name === 'ModelNotReadyException',
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (error.name === 'ModelNotReadyException') options.onModelNotReady?.({ customerId, targetModel, attempt: attemptNumber });
      },
    });
    try {
      const result = parseForecastResponse(output.Body);
      if (result.customerId !== customerId || result.period !== period) {
        throw new ForecastWireError(`the endpoint answered customer ${result.customerId} for ${result.period} days; expected customer ${customerId} for ${period} days`);
      }
      return { ...result, targetModel };
    } catch (error) {
      const cause = error instanceof ForecastWireError ? error.message : String(error);
      throw new ForecastError('E_BAD_RESPONSE', customerId, `customer ${customerId}, model ${targetModel}: ${cause}`, { cause: error });
    }
  }

  async function forecast(id: string | number, period: number): Promise<Forecast> {
    const customerId = String(id);
    let entry = await resolve(customerId);
    try {
      return await invoke(customerId, entry.targetModel, period);
    } catch (error) {
      if (error instanceof ForecastError) throw error;
      // The model may have been replaced since the manifest was read: retry once with a newer manifest.
      if ((error as Error).name === 'ValidationError') {
        const newer = (await refresh()).models[customerId];
        if (newer && newer.targetModel !== entry.targetModel) {
          entry = newer;
          try {
            return await invoke(customerId, entry.targetModel, period);
          } catch (retryError) {
            throw invokeError(customerId, entry.targetModel, retryError);
          }
        }
      }
      throw invokeError(customerId, entry.targetModel, error);
    }
  }

  function invokeError(customerId: string, targetModel: string, error: unknown): ForecastError {
    if (error instanceof ForecastError) return error;
    const { name, message } = error as Error;
    return new ForecastError(
      'E_INVOKE_FAILED',
      customerId,
      `customer ${customerId}: endpoint ${options.endpointName} failed for model ${targetModel}: ${name}: ${message}`,
      { cause: error },
    );
  }

  return {
    forecast,
    manifest: () => manifest(),
    entry: async (id) => (await manifest()).models[String(id)],
  };
}
