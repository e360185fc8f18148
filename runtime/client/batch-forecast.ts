import pMap from 'p-map';
import pRetry from 'p-retry';
import { ForecastError } from './forecast-client.js';
import type { Forecast, ForecastClient } from './forecast-client.js';

/**
 * Forecasts of many customers through the endpoint (the usual downstream job: tomorrow for every
 * customer): a bounded number of requests in flight, transient failures retried, and every
 * customer that still fails reported with its reason rather than stopping the others.
 */

export interface BatchFailure {
  readonly customerId: string;
  readonly code: string;
  readonly message: string;
}

export interface BatchResult {
  /** In the order the customers were given. */
  readonly forecasts: Forecast[];
  readonly failures: BatchFailure[];
}

export interface BatchOptions {
  readonly client: ForecastClient;
  readonly customers: readonly string[];
  readonly period: number;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** Retries of a failed invocation that may be transient (default 2). */
  readonly retries?: number;
  readonly retryMinDelayMs?: number;
  /** After each customer, done or failed. */
  readonly onProgress?: (done: number, failed: number) => void;
}

export const DEFAULT_BATCH_CONCURRENCY = 8;
export const DEFAULT_BATCH_RETRIES = 2;

/** A failure worth another try: not an unknown customer, a missing model or a malformed answer. */
export function isTransientFailure(error: unknown): boolean {
  if (!(error instanceof ForecastError) || error.code !== 'E_INVOKE_FAILED') return false;
  const cause = (error.cause as { name?: string; $fault?: string } | undefined) ?? {};
  return cause.name !== 'ValidationError' && cause.$fault !== 'client';
}

export async function forecastBatch(options: BatchOptions): Promise<BatchResult> {
  const failures: BatchFailure[] = [];
  let done = 0;
  const results = await pMap(
    options.customers,
    async (customerId) => {
      try {
        return await pRetry(() => options.client.forecast(customerId, options.period), {
          retries: options.retries ?? DEFAULT_BATCH_RETRIES,
          minTimeout: options.retryMinDelayMs ?? 200,
          shouldRetry: ({ error }) => isTransientFailure(error),
        });
      } catch (error) {
        failures.push({
          customerId,
          code: error instanceof ForecastError ? error.code : (error as Error).name,
          message: (error as Error).message,
        });
        return undefined;
      } finally {
        done++;
        options.onProgress?.(done, failures.length);
      }
    },
    { concurrency: options.concurrency ?? DEFAULT_BATCH_CONCURRENCY },
  );
  return { forecasts: results.filter((forecast): forecast is Forecast => forecast !== undefined), failures };
}

const CSV_HEADER = ['customer_id', 'target_model', 'run_id', 'date', 'yhat', 'yhat_lower', 'yhat_upper'];

/** One row per customer and day, RFC 4180 quoting where a field needs it. */
export function forecastsToCsv(forecasts: readonly Forecast[]): string {
  const rows = forecasts.flatMap((f) => f.forecast.map((p) => [f.customerId, f.targetModel, f.runId, p.date, p.yhat, p.yhat_lower, p.yhat_upper]));
  return [CSV_HEADER, ...rows].map((row) => row.map((cell) => csvField(String(cell))).join(',')).join('\n') + '\n';
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
