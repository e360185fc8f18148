import type { InitOutput } from '@bsull/augurs/prophet';
import { nextForecastReserveBytes } from './memory-budget.js';

/**
 * Keeps the WebAssembly memory a forecast works in set aside while no forecast runs, so that loads
 * cannot fill it and the next forecast does not have to grow the memory (which never shrinks) again.
 *
 * A forecast's sample matrices are freed when it returns, but the allocator hands that space to the
 * next loads; the forecast after them grows the memory anew, and a thread's memory creeps upwards by
 * a forecast's working memory at a time. Here the space is one allocated block, freed just before a
 * forecast (which runs synchronously, so nothing else can take it) and taken again just after. Its
 * size is learned: whenever a forecast still grows the memory, the block grows by as much. The block
 * is part of the thread's measured WebAssembly memory, so the budget counts it like a model.
 */
export class ForecastReserve {
  #pointer = 0;
  #bytes = 0;

  constructor(private readonly wasm: InitOutput) {}

  /** The block's size: what the largest forecast so far needed beyond the memory that was free. */
  get bytes(): number {
    return this.#bytes;
  }

  around<T>(forecast: () => T): T {
    this.#release();
    const before = this.wasm.memory.buffer.byteLength;
    try {
      return forecast();
    } finally {
      this.#bytes = nextForecastReserveBytes(this.#bytes, this.wasm.memory.buffer.byteLength - before);
      this.#take();
    }
  }

  #release(): void {
    if (this.#pointer === 0) return;
    this.wasm.__wbindgen_free(this.#pointer, this.#bytes, 8);
    this.#pointer = 0;
  }

  #take(): void {
    if (this.#bytes === 0) return;
    try {
      this.#pointer = this.wasm.__wbindgen_malloc(this.#bytes, 8);
    } catch {
      // Near WebAssembly's 4 GiB ceiling: forecasts go on without a reserve.
      this.#pointer = 0;
    }
  }
}
