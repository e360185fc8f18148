import type { InitOutput } from '@bsull/augurs/prophet';
import { WASM_PAGE_BYTES } from './memory-budget.js';

const MiB = 1024 * 1024;

/**
 * Keeps free space ahead in Prophet's WebAssembly memory so that loading models seldom grows it.
 *
 * Rust's allocator grows the memory by little more than each model needs, and V8 (Node 20) runs a
 * full garbage collection on most `memory.grow` calls. Measured in one thread, 3000 model loads:
 * 1064 grows, 52 s in all and a p99 of 155 ms per load; with this reserve 9 grows, 12 s and 36 ms,
 * at the same RSS. Reserving is allocating one large block and freeing it at once: the allocator
 * keeps the freed space for the next allocations, and pages nobody writes to never become resident.
 * The reserve is measured memory like any other, so it is only taken within what the memory budget
 * allows the load that grew the memory.
 */
export class WasmHeadroom {
  constructor(
    private readonly wasm: InitOutput,
    private readonly minimumStepBytes = 16 * MiB,
  ) {}

  /** The WebAssembly memory's size now. */
  get memoryBytes(): number {
    return this.wasm.memory.buffer.byteLength;
  }

  /** Call after a load that grew the memory from `before`: reserve the next step, growing it by at most `limitBytes`. */
  afterGrowth(before: number, limitBytes: number): void {
    const size = this.memoryBytes;
    if (size === before) return;
    // The allocator may round a request up to the next page, so ask for a page less than the limit.
    const step = Math.min(limitBytes - WASM_PAGE_BYTES, Math.max(this.minimumStepBytes, Math.floor(size / 2)));
    if (step < WASM_PAGE_BYTES) return;
    try {
      const pointer = this.wasm.__wbindgen_malloc(step, 8);
      this.wasm.__wbindgen_free(pointer, step, 8);
    } catch {
      // Near WebAssembly's 4 GiB ceiling: loads go on growing the memory a little at a time.
    }
  }
}
