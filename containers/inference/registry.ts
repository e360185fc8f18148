import { stat } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILE_NAME } from '../shared/model-artifact.js';
import { InferenceError } from './errors.js';
import { estimateModelBytes, MemoryBudget } from './memory-budget.js';
import type { ModelHost } from './model-host.js';
import { encodePageToken, type ListQuery } from './payload.js';

export interface ModelEntry {
  readonly modelName: string;
  readonly modelUrl: string;
  readonly customerId: string;
  readonly runId: string;
  readonly estimatedBytes: number;
  readonly host: ModelHost;
  /** `"customerId":…,"runId":…` serialised once at load, spliced into every invocation response. */
  readonly identityJson: string;
}

export interface ModelListPage {
  models: { modelName: string; modelUrl: string }[];
  nextPageToken?: string;
}

const MiB = 1024 * 1024;

/**
 * The models this server holds, keyed by SageMaker's opaque `model_name`. Each model lives on the
 * host (thread) holding the fewest models when it is loaded.
 */
export class ModelRegistry {
  readonly #entries = new Map<string, ModelEntry>();
  readonly #loading = new Set<string>();
  readonly #hostCounts: Map<ModelHost, number>;

  constructor(
    hosts: readonly ModelHost[],
    readonly budget: MemoryBudget,
  ) {
    if (hosts.length === 0) throw new RangeError('a model registry needs at least one host');
    this.#hostCounts = new Map(hosts.map((host) => [host, 0]));
  }

  get size(): number {
    return this.#entries.size;
  }

  async load(modelName: string, modelUrl: string): Promise<ModelEntry> {
    if (this.#entries.has(modelName) || this.#loading.has(modelName)) {
      throw new InferenceError('E_MODEL_ALREADY_LOADED', `Model [${modelName}] is already loaded; unload it first to load it again.`);
    }
    this.#loading.add(modelName);
    try {
      const estimatedBytes = estimateModelBytes(await modelJsonSize(modelName, modelUrl));
      if (!this.budget.tryReserve(estimatedBytes)) {
        throw new InferenceError(
          'E_INSUFFICIENT_MEMORY',
          `Loading model [${modelName}] needs about ${toMiB(estimatedBytes)} MiB but ${toMiB(this.budget.reservedBytes)} of the ` +
            `${toMiB(this.budget.budgetBytes)} MiB model memory budget are taken by ${this.#entries.size} models; unload some first.`,
        );
      }
      const host = this.#leastLoadedHost();
      this.#hostCounts.set(host, (this.#hostCounts.get(host) ?? 0) + 1);
      try {
        const info = await host.load(modelName, modelUrl);
        const entry: ModelEntry = {
          modelName,
          modelUrl,
          customerId: info.customerId,
          runId: info.runId,
          estimatedBytes,
          host,
          identityJson: `"customerId":${JSON.stringify(info.customerId)},"runId":${JSON.stringify(info.runId)}`,
        };
        this.#entries.set(modelName, entry);
        return entry;
      } catch (error) {
        this.#hostCounts.set(host, (this.#hostCounts.get(host) ?? 1) - 1);
        this.budget.release(estimatedBytes);
        throw error;
      }
    } finally {
      this.#loading.delete(modelName);
    }
  }

  get(modelName: string): ModelEntry {
    const entry = this.#entries.get(modelName);
    if (!entry) throw new InferenceError('E_MODEL_NOT_LOADED', `Model [${modelName}] is not loaded.`);
    return entry;
  }

  async unload(modelName: string): Promise<void> {
    const entry = this.get(modelName);
    // Gone from the table first, so no new invocation reaches a model that is being freed.
    this.#entries.delete(modelName);
    await entry.host.unload(modelName);
    this.#hostCounts.set(entry.host, (this.#hostCounts.get(entry.host) ?? 1) - 1);
    this.budget.release(entry.estimatedBytes);
  }

  list({ limit, after }: ListQuery): ModelListPage {
    const names = [...this.#entries.keys()].sort();
    const start = after === undefined ? 0 : firstIndexAfter(names, after);
    const page = names.slice(start, start + limit);
    const result: ModelListPage = {
      models: page.map((name) => ({ modelName: name, modelUrl: this.#entries.get(name)!.modelUrl })),
    };
    const last = page.at(-1);
    if (last !== undefined && start + limit < names.length) result.nextPageToken = encodePageToken(last);
    return result;
  }

  #leastLoadedHost(): ModelHost {
    let best: [ModelHost, number] | undefined;
    for (const candidate of this.#hostCounts) if (!best || candidate[1] < best[1]) best = candidate;
    return best![0];
  }
}

async function modelJsonSize(modelName: string, modelUrl: string): Promise<number> {
  const file = path.join(modelUrl, MODEL_FILE_NAME);
  try {
    return (await stat(file)).size;
  } catch (error) {
    throw new InferenceError(
      'E_MODEL_ARTIFACT_INVALID',
      `Model [${modelName}] cannot be loaded: ${file} is not readable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
        'the url must be the folder the model archive was unpacked into.',
      { cause: error, reason: (error as NodeJS.ErrnoException).code },
    );
  }
}

function firstIndexAfter(sorted: readonly string[], name: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= name) low = mid + 1;
    else high = mid;
  }
  return low;
}

function toMiB(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}
