import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pRetry from 'p-retry';
import { buildInvokeInput, parseForecastResponse, type ForecastResult } from '../client/forecast-wire.js';

/**
 * One forecast of one model through the endpoint, for the pipeline's checks and the warm switch. An
 * MME answers ModelNotReadyException while it loads a model: wait and retry, as the client does.
 */
export async function invokeModel(runtime: SageMakerRuntimeClient, endpointName: string, targetModel: string, period: number): Promise<ForecastResult> {
  const input = buildInvokeInput({ endpointName, targetModel, period });
  const output = await pRetry(() => runtime.send(new InvokeEndpointCommand(input)), {
    retries: 5,
    minTimeout: 200,
    maxTimeout: 3000,
    shouldRetry: ({ error }) => error.name === 'ModelNotReadyException',
  });
  return parseForecastResponse(output.Body ?? '');
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function forEachWithConcurrency<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
