import os from 'node:os';
import { parseArgs } from 'node:util';

export interface InferenceConfig {
  readonly host: string;
  readonly port: number;
  /** Worker threads holding the models; 0 keeps them on the HTTP thread. */
  readonly workers: number;
  /** Overrides the samples each model was trained with (its `prophet.uncertaintySamples`). */
  readonly uncertaintySamples: number | undefined;
  /** Memory the loaded models may take together; undefined derives it from the container's memory. */
  readonly modelMemoryBytes: number | undefined;
}

export const DEFAULT_PORT = 8080;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string' },
  'uncertainty-samples': { type: 'string' },
  'memory-budget-mb': { type: 'string' },
} as const;

function integer(value: string, name: string, min: number, max: number): number {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(parsed >= min && parsed <= max)) {
    throw new RangeError(`[${name}] must be an integer from ${min} to ${max}; received ${JSON.stringify(value)}.`);
  }
  return parsed;
}

/**
 * Reads the server's settings once, from flags first and then environment variables (SageMaker can
 * only pass the latter): `--port`/`SAGEMAKER_BIND_TO_PORT`, `--host`/`INFERENCE_HOST`,
 * `--workers`/`INFERENCE_WORKERS`, `--uncertainty-samples`/`INFERENCE_UNCERTAINTY_SAMPLES`,
 * `--memory-budget-mb`/`INFERENCE_MEMORY_BUDGET_MB`. A bad value throws naming the setting.
 */
export function parseInferenceConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env): InferenceConfig {
  const { values } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  const setting = (flag: keyof typeof OPTIONS, variable: string): [string, string] | undefined => {
    const fromFlag = values[flag];
    if (fromFlag !== undefined) return [fromFlag, `--${flag}`];
    const fromEnv = env[variable];
    return fromEnv !== undefined && fromEnv !== '' ? [fromEnv, variable] : undefined;
  };
  const port = setting('port', 'SAGEMAKER_BIND_TO_PORT');
  const workers = setting('workers', 'INFERENCE_WORKERS');
  const samples = setting('uncertainty-samples', 'INFERENCE_UNCERTAINTY_SAMPLES');
  const budget = setting('memory-budget-mb', 'INFERENCE_MEMORY_BUDGET_MB');
  let modelMemoryBytes: number | undefined;
  if (budget) {
    const megabytes = Number(budget[0]);
    if (!(megabytes >= 0 && Number.isFinite(megabytes))) {
      throw new RangeError(`[${budget[1]}] must be a number of MiB >= 0; received ${JSON.stringify(budget[0])}.`);
    }
    modelMemoryBytes = Math.round(megabytes * 1024 * 1024);
  }
  return Object.freeze({
    host: setting('host', 'INFERENCE_HOST')?.[0] ?? '0.0.0.0',
    port: port ? integer(port[0], port[1], 0, 65535) : DEFAULT_PORT,
    // One core stays with the HTTP thread, which parses, routes and answers every request.
    workers: workers ? integer(workers[0], workers[1], 0, 64) : Math.max(1, os.availableParallelism() - 1),
    uncertaintySamples: samples ? integer(samples[0], samples[1], 1, 10_000) : undefined,
    modelMemoryBytes,
  });
}
