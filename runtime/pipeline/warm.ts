import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { forEachWithConcurrency, invokeModel } from './endpoint-invoke.js';

/**
 * The warm switch: new models are loaded on the endpoint by invoking them before the manifest
 * points clients at them, so the morning's first requests do not pay a cold load (an MME loads a
 * model on its first call). Loads run a few at a time, as an MME instance loads in parallel.
 */

export interface WarmResult {
  readonly models: number;
  readonly seconds: number;
  /** Models the endpoint could not load or answer with, and why. */
  readonly failures: readonly { readonly targetModel: string; readonly reason: string }[];
}

export const WARM_CONCURRENCY = 8;
const PROGRESS_EVERY = 100;

export async function warmModels(options: {
  readonly runtime: SageMakerRuntimeClient;
  readonly endpointName: string;
  readonly targetModels: readonly string[];
  readonly concurrency?: number;
  readonly onProgress?: (warmed: number, total: number) => void;
}): Promise<WarmResult> {
  const started = performance.now();
  const failures: { targetModel: string; reason: string }[] = [];
  let done = 0;
  await forEachWithConcurrency(options.targetModels, options.concurrency ?? WARM_CONCURRENCY, async (targetModel) => {
    try {
      await invokeModel(options.runtime, options.endpointName, targetModel, 1);
    } catch (error) {
      failures.push({ targetModel, reason: `${(error as Error).name}: ${(error as Error).message}` });
    }
    done += 1;
    if (done % PROGRESS_EVERY === 0 || done === options.targetModels.length) options.onProgress?.(done, options.targetModels.length);
  });
  const seconds = Math.round(performance.now() - started) / 1000;
  return { models: options.targetModels.length - failures.length, seconds, failures };
}
