import { stat } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_FILE_NAME } from '../shared/model-artifact.js';
import { InferenceError } from './errors.js';
import {
  estimateModelBytes,
  garbageAllowanceBytes,
  loadAllowance,
  measuredModelBytes,
  REUSE_GROWTH_RESERVE_BYTES,
  roomLeftBytes,
  threadBytes,
  threadToRecycle,
  type LoadAllowance,
  type MeasuredThreads,
  WASM_PAGE_BYTES,
} from './memory-budget.js';
import type { ModelHost } from './model-host.js';
import type { LoadOutcome } from './model-shard.js';
import { encodePageToken, type ListQuery } from './payload.js';

export interface ModelEntry {
  readonly modelName: string;
  readonly modelUrl: string;
  readonly customerId: string;
  readonly runId: string;
  readonly estimatedBytes: number;
  /** The thread holding it; changes when that thread is replaced. */
  host: ModelHost;
  /** `"customerId":…,"runId":…` serialised once at load, spliced into every invocation response. */
  readonly identityJson: string;
}

export interface ModelListPage {
  models: { modelName: string; modelUrl: string }[];
  nextPageToken?: string;
}

/** The registry's measured memory, for logs and tests. */
export interface MemoryFigures {
  budgetBytes: number;
  /** What the model threads hold above what they held at start: what load decisions read. */
  measuredBytes: number;
  /** Its two parts: the threads' V8 heaps and their WebAssembly memory, above their start. */
  heapBytes: number;
  wasmBytes: number;
  /** The HTTP thread's heap above what it held at start, when the models live in worker threads (0 otherwise). */
  mainHeapBytes: number;
  threads: number;
  /** Threads replaced since start because they held memory their models no longer used. */
  recycled: number;
}

export interface RegistryOptions {
  budgetBytes: number;
  /** The HTTP thread's heap now, reported beside the measured figure; omitted when the models live on the HTTP thread (its heap is then the host's). */
  mainHeapBytes?: () => number;
  /** Starts a new model thread to replace one; omitted when threads cannot be replaced (models on the HTTP thread). */
  startHost?: () => Promise<ModelHost>;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

interface HostSlot {
  host: ModelHost;
  models: number;
  /** The estimates of the models it holds. */
  modelEstimateBytes: number;
  /** Estimates of the models unloaded from it since it last grew: where a load most likely fits without growing. */
  freedBytes: number;
  loads: Set<Promise<unknown>>;
  draining: boolean;
}

const MiB = 1024 * 1024;

/**
 * The models this server holds, keyed by SageMaker's opaque `model_name`, and the memory rule for
 * loading them (see memory-budget.ts): a load runs only when its growth fits in what the budget has
 * left after the measured use of every thread, their garbage allowances and the loads under way, or
 * with no growth allowed into room that unloads freed. A thread whose memory its models do not
 * explain, once the measured use passed the budget, is replaced.
 */
export class ModelRegistry {
  readonly #entries = new Map<string, ModelEntry>();
  /** Loads under way, by model name; settled (never rejected) when the load ends either way. */
  readonly #loading = new Map<string, Promise<unknown>>();
  readonly #slots: HostSlot[];
  readonly #mainStart: number;
  #allowedToLoads = 0;
  /**
   * Estimates of the models unloaded, less those of the loads that reused held memory past the budget:
   * counted across threads, since the endpoint's eviction may free a model on another thread (or on
   * one being replaced) than the one the next load lands on.
   */
  #freedBytes = 0;
  #recycling: Promise<void> | undefined;
  #recycled = 0;
  /** Garbage each thread's heap may hold before it collects it; the budget reserves it for every thread. */
  readonly #garbageAllowanceBytes: number;

  constructor(
    hosts: readonly ModelHost[],
    private readonly options: RegistryOptions,
  ) {
    if (hosts.length === 0) throw new RangeError('a model registry needs at least one host');
    if (!(options.budgetBytes >= 0)) throw new RangeError(`memory budget must be a number of bytes >= 0; received ${options.budgetBytes}`);
    this.#slots = hosts.map((host) => newSlot(host));
    this.#mainStart = options.mainHeapBytes?.() ?? 0;
    this.#garbageAllowanceBytes = garbageAllowanceBytes(options.budgetBytes, hosts.length);
    // A thread takes requests in order, so the allowance applies before any load; a thread that dies reports it through its host.
    for (const host of hosts) host.limitGarbage(this.#garbageAllowanceBytes).catch(() => undefined);
  }

  get size(): number {
    return this.#entries.size;
  }

  get budgetBytes(): number {
    return this.options.budgetBytes;
  }

  memory(): MemoryFigures {
    return {
      budgetBytes: this.options.budgetBytes,
      measuredBytes: measuredModelBytes(this.#measured()),
      heapBytes: this.#slots.reduce((sum, slot) => sum + slot.host.memory.heapBytes - slot.host.startMemory.heapBytes, 0),
      wasmBytes: this.#slots.reduce((sum, slot) => sum + slot.host.memory.wasmBytes - slot.host.startMemory.wasmBytes, 0),
      mainHeapBytes: this.options.mainHeapBytes ? Math.max(0, this.options.mainHeapBytes() - this.#mainStart) : 0,
      threads: this.#slots.length,
      recycled: this.#recycled,
    };
  }

  async load(modelName: string, modelUrl: string): Promise<ModelEntry> {
    if (this.#entries.has(modelName) || this.#loading.has(modelName)) {
      throw new InferenceError('E_MODEL_ALREADY_LOADED', `Model [${modelName}] is already loaded; unload it first to load it again.`);
    }
    let loaded!: () => void;
    this.#loading.set(modelName, new Promise<void>((resolve) => (loaded = resolve)));
    try {
      const estimatedBytes = estimateModelBytes(await modelJsonSize(modelName, modelUrl));
      let slot = this.#placement();
      let allowance = this.#allowance(estimatedBytes, slot);
      // Refused while other loads hold room they may not use (a burst at start: the first takes room for free space
      // ahead): wait for them rather than answer 507, which makes the endpoint evict a model for nothing.
      while (allowance === undefined && this.#allowedToLoads > 0) {
        const underWay = this.#slots.flatMap((candidate) => [...candidate.loads]);
        if (underWay.length === 0) break;
        await Promise.race(underWay.map((load) => load.catch(() => undefined)));
        slot = this.#placement();
        allowance = this.#allowance(estimatedBytes, slot);
      }
      if (allowance === undefined) {
        this.#maybeRecycle();
        throw this.#insufficientMemory(modelName, `needs room for its estimate of ${toMiB(estimatedBytes)} MiB and two pages, where unloads freed none and the budget has ${toMiB(Math.max(0, this.#roomLeft()))} MiB left`);
      }
      // Loading into room unloads freed claims it, so that concurrent loads do not count on the same room.
      const claimedBytes = allowance.intoFreedRoom ? estimatedBytes : 0;
      const allowanceBytes = allowance.bytes;
      this.#freedBytes -= claimedBytes;
      this.#allowedToLoads += allowanceBytes;
      slot.models++;
      const loading = slot.host.load(modelName, modelUrl, allowanceBytes);
      slot.loads.add(loading);
      let outcome: LoadOutcome;
      try {
        outcome = await loading;
      } catch (error) {
        slot.models--;
        this.#freedBytes += claimedBytes;
        throw error;
      } finally {
        slot.loads.delete(loading);
        this.#allowedToLoads -= allowanceBytes;
      }
      if (!outcome.loaded) {
        // Undone: the room it claimed is still free (and what it grew is free memory of its thread now).
        slot.models--;
        this.#freedBytes += claimedBytes;
        this.#maybeRecycle();
        throw this.#insufficientMemory(
          modelName,
          `grew its thread's memory by ${toMiB(outcome.grownBytes)} MiB, more than the ${toMiB(allowanceBytes)} MiB it was allowed (${allowance.intoFreedRoom ? 'room unloads freed, and what is left of the reserve for growth there' : 'its share of what the budget had left'})`,
        );
      }
      slot.modelEstimateBytes += estimatedBytes;
      if (outcome.grownBytes > 0) slot.freedBytes = 0;
      else {
        slot.freedBytes = Math.max(0, slot.freedBytes - estimatedBytes);
        if (claimedBytes === 0) this.#freedBytes = Math.max(0, this.#freedBytes - estimatedBytes);
      }
      const entry: ModelEntry = {
        modelName,
        modelUrl,
        customerId: outcome.customerId,
        runId: outcome.runId,
        estimatedBytes,
        host: slot.host,
        identityJson: `"customerId":${JSON.stringify(outcome.customerId)},"runId":${JSON.stringify(outcome.runId)}`,
      };
      this.#entries.set(modelName, entry);
      this.#maybeRecycle();
      return entry;
    } finally {
      this.#loading.delete(modelName);
      loaded();
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
    const host = entry.host;
    await host.unload(modelName);
    this.#freedBytes += entry.estimatedBytes;
    const slot = this.#slots.find((candidate) => candidate.host === host);
    if (slot) {
      slot.models--;
      slot.modelEstimateBytes -= entry.estimatedBytes;
      slot.freedBytes += entry.estimatedBytes;
    }
    this.#maybeRecycle();
  }

  /** The model's forecast as JSON, from the thread holding it. */
  async forecastJson(entry: ModelEntry, period: number): Promise<string> {
    const json = await entry.host.forecastJson(entry.modelName, period);
    this.#maybeRecycle();
    return json;
  }

  /** Waits for a thread replacement under way, if any (shutdown and tests). */
  async settled(): Promise<void> {
    await this.#recycling;
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

  /** The thread where a load most likely fits in memory it already holds, else the one with the fewest models. */
  #placement(): HostSlot {
    let best: HostSlot | undefined;
    for (const slot of this.#slots) {
      if (slot.draining) continue;
      if (!best || slot.freedBytes > best.freedBytes || (slot.freedBytes === best.freedBytes && slot.models < best.models)) best = slot;
    }
    return best!;
  }

  #measured(): MeasuredThreads {
    return {
      threads: this.#slots.map((slot) => ({
        now: slot.host.memory,
        start: slot.host.startMemory,
        modelEstimateBytes: slot.modelEstimateBytes,
        garbageAllowanceBytes: this.#garbageAllowanceBytes,
      })),
    };
  }

  #allowance(estimateBytes: number, slot: HostSlot): LoadAllowance | undefined {
    return loadAllowance({
      roomLeftBytes: this.#roomLeft(),
      reuseReserveBytes: REUSE_GROWTH_RESERVE_BYTES * this.#slots.length,
      estimateBytes,
      threads: this.#slots.length,
      freedBytes: this.#freedBytes,
      loadsUnderWay: slot.loads.size,
    });
  }

  /** What the budget has left for loads; with `ending`, as if that thread (being replaced) were gone, with all it holds and reserves. */
  #roomLeft(ending?: HostSlot): number {
    const slots = this.#slots.filter((slot) => slot !== ending);
    return roomLeftBytes({
      budgetBytes: this.options.budgetBytes,
      measuredBytes: measuredModelBytes({ threads: this.#measured().threads.filter((_, index) => this.#slots[index] !== ending) }),
      reservedBytes: slots.reduce((sum, slot) => sum + this.#garbageAllowanceBytes + slot.host.memory.forecastReserveBytes, 0),
      allowedToOthersBytes: this.#allowedToLoads,
    });
  }

  #insufficientMemory(modelName: string, why: string): InferenceError {
    const threads = this.#slots.length;
    return new InferenceError(
      'E_INSUFFICIENT_MEMORY',
      `Loading model [${modelName}] ${why}: ${this.#entries.size} loaded models take ${toMiB(measuredModelBytes(this.#measured()))} MiB of the ` +
        `${toMiB(this.options.budgetBytes)} MiB model memory budget (V8 heap and WebAssembly memory of ${threads} model thread${threads === 1 ? '' : 's'}, measured); unload some first.`,
    );
  }

  #maybeRecycle(): void {
    const startHost = this.options.startHost;
    if (!startHost || this.#recycling) return;
    const index = threadToRecycle(this.#measured(), this.options.budgetBytes);
    const slot = this.#slots[index];
    if (!slot) return;
    this.#recycling = this.#recycle(slot, startHost)
      .catch((error: unknown) => {
        slot.draining = false;
        this.options.log?.('thread-recycle-failed', { message: (error as Error).message });
      })
      .finally(() => (this.#recycling = undefined));
  }

  /**
   * Replaces a thread: new loads go to a new thread at once, the old thread's models are loaded
   * again there one by one (each switches as soon as it is in place, so invocations never wait),
   * then the old thread finishes what it was asked and ends, and its memory with it.
   */
  async #recycle(old: HostSlot, startHost: () => Promise<ModelHost>): Promise<void> {
    const fresh = newSlot(await startHost());
    await fresh.host.limitGarbage(this.#garbageAllowanceBytes);
    // Only once the new thread is up: until then the old one still takes loads (with one thread, nothing else could).
    old.draining = true;
    this.#slots.push(fresh);
    const heldBytes = threadBytes(old.host.memory) - threadBytes(old.host.startMemory);
    await Promise.allSettled([...old.loads]);
    let moved = 0;
    for (const entry of [...this.#entries.values()]) {
      if (entry.host !== old.host) continue;
      // The model's memory is already counted in the old thread's, which goes: the move is allowed what a load would be
      // without that thread, and if it needs more it takes it (what its replay grew, then anything) rather than leave the
      // model behind.
      const allowanceBytes =
        loadAllowance({
          roomLeftBytes: this.#roomLeft(old),
          reuseReserveBytes: REUSE_GROWTH_RESERVE_BYTES * this.#slots.length,
          estimateBytes: entry.estimatedBytes,
          threads: this.#slots.length - 1,
          freedBytes: 0,
          loadsUnderWay: fresh.loads.size,
        })?.bytes ?? 0;
      let outcome = await fresh.host.load(entry.modelName, entry.modelUrl, allowanceBytes);
      if (!outcome.loaded) outcome = await fresh.host.load(entry.modelName, entry.modelUrl, outcome.grownBytes + entry.estimatedBytes + 2 * WASM_PAGE_BYTES);
      if (!outcome.loaded) outcome = await fresh.host.load(entry.modelName, entry.modelUrl, Number.MAX_SAFE_INTEGER);
      if (this.#entries.get(entry.modelName) === entry && entry.host === old.host) {
        entry.host = fresh.host;
        fresh.models++;
        fresh.modelEstimateBytes += entry.estimatedBytes;
        old.models--;
        old.modelEstimateBytes -= entry.estimatedBytes;
        moved++;
      } else if (outcome.loaded) {
        // Unloaded while it moved: drop the copy, unless the model is being or was loaded again onto the new thread,
        // where that load replaces the copy (unloading after it would leave the registry pointing at nothing).
        await this.#loading.get(entry.modelName);
        if (this.#entries.get(entry.modelName)?.host !== fresh.host) await fresh.host.unload(entry.modelName);
      }
    }
    this.#slots.splice(this.#slots.indexOf(old), 1);
    await old.host.drain();
    await old.host.close();
    this.#recycled++;
    this.options.log?.('thread-recycled', {
      models: moved,
      heldMiB: Number(toMiB(heldBytes)),
      nowHeldMiB: Number(toMiB(threadBytes(fresh.host.memory) - threadBytes(fresh.host.startMemory))),
      budgetMiB: Number(toMiB(this.options.budgetBytes)),
    });
  }

  async close(): Promise<void> {
    await this.#recycling;
    await Promise.all(this.#slots.map((slot) => slot.host.close()));
  }
}

function newSlot(host: ModelHost): HostSlot {
  return { host, models: 0, modelEstimateBytes: 0, freedBytes: 0, loads: new Set(), draining: false };
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
