import initAugursProphet from '@bsull/augurs/prophet';
import { readModelDirectory } from '../shared/model-artifact.js';
import { initProphet, replayModel, type ForecastModel } from '../shared/prophet.js';
import { InferenceError } from './errors.js';
import { keepsLoad, nextForecastReserveBytes, type ThreadMemory } from './memory-budget.js';
import { ThreadHeap } from './thread-heap.js';
import { WasmHeadroom } from './wasm-headroom.js';

/** What the registry keeps about a model once it is loaded. */
export interface LoadedModelInfo {
  customerId: string;
  runId: string;
}

/**
 * A load measured in its thread: how much it grew the WebAssembly memory, and whether it was kept
 * (it grew within its allowance) or undone (its memory stays with the thread, free for later loads).
 */
export type LoadOutcome = ({ loaded: true } & LoadedModelInfo & { grownBytes: number }) | { loaded: false; grownBytes: number };

export interface ReplayOptions {
  /**
   * Monte Carlo samples behind yhat_lower/yhat_upper, the main cost of a forecast; undefined keeps
   * each model's own setting.
   */
  uncertaintySamples: number | undefined;
}

/**
 * The replayed models of one thread. Each thread has its own WebAssembly instance of Prophet, so a
 * model lives and is forecast in the thread that loaded it.
 */
export class ModelShard {
  readonly #models = new Map<string, ForecastModel>();
  #forecastReserveBytes = 0;

  private constructor(
    private readonly options: ReplayOptions,
    private readonly headroom: WasmHeadroom,
    private readonly heap: ThreadHeap,
  ) {}

  static async create(options: ReplayOptions): Promise<ModelShard> {
    await initProphet();
    // Once initialised, augurs' init hands back the module's exports (its memory and allocator).
    const wasm = await initAugursProphet();
    return new ModelShard(options, new WasmHeadroom(wasm), new ThreadHeap());
  }

  /** Garbage this thread's heap may hold before it is collected. */
  limitGarbage(allowanceBytes: number): void {
    this.heap.limitGarbage(allowanceBytes);
  }

  /** Loads a model unless replaying it grows the WebAssembly memory by more than `allowanceBytes`. */
  async load(name: string, dir: string, allowanceBytes: number): Promise<LoadOutcome> {
    let model: ForecastModel;
    let info: LoadedModelInfo;
    let before = 0;
    try {
      const doc = await readModelDirectory(dir);
      // Measured around the synchronous replay only, so no other load of this thread is counted in it.
      before = this.headroom.memoryBytes;
      model = replayModel(doc, this.options.uncertaintySamples === undefined ? {} : { uncertaintySamples: this.options.uncertaintySamples });
      info = { customerId: doc.customerId, runId: doc.runId };
    } catch (error) {
      const reason = artifactReason(error);
      throw new InferenceError(
        'E_MODEL_ARTIFACT_INVALID',
        `Model [${name}] cannot be loaded from ${dir}: ${(error as Error).message}`,
        { cause: error, reason },
      );
    }
    const grownBytes = this.headroom.memoryBytes - before;
    if (!keepsLoad(grownBytes, allowanceBytes)) {
      model.free();
      return { loaded: false, grownBytes };
    }
    this.#models.get(name)?.free();
    this.#models.set(name, model);
    this.headroom.afterGrowth(before, allowanceBytes - grownBytes);
    return { loaded: true, ...info, grownBytes: this.headroom.memoryBytes - before };
  }

  /** What this thread holds now: its V8 heap and Prophet's WebAssembly memory. */
  memory(): ThreadMemory {
    return { heapBytes: this.heap.measure(), wasmBytes: this.headroom.memoryBytes, forecastReserveBytes: this.#forecastReserveBytes };
  }

  unload(name: string): boolean {
    const model = this.#models.get(name);
    if (!model) return false;
    this.#models.delete(name);
    model.free();
    return true;
  }

  /** The forecast as a JSON array, serialised here so the HTTP thread only splices it in. */
  forecastJson(name: string, period: number): string {
    const model = this.#models.get(name);
    if (!model) throw new InferenceError('E_MODEL_NOT_LOADED', `Model [${name}] is not loaded.`);
    const before = this.headroom.memoryBytes;
    const forecast = model.forecast(period);
    this.#forecastReserveBytes = nextForecastReserveBytes(this.#forecastReserveBytes, this.headroom.memoryBytes - before);
    return JSON.stringify(forecast);
  }

  close(): void {
    for (const model of this.#models.values()) model.free();
    this.#models.clear();
  }
}

function artifactReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
