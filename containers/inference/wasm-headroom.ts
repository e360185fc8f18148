import type { InitOutput } from '@bsull/augurs/prophet';

const MiB = 1024 * 1024;

/**
 * Keeps free space ahead in Prophet's WebAssembly memory so that loading models seldom grows it.
 *
 * Rust's allocator grows the memory by little more than each model needs, and V8 (Node 20) runs a
 * full garbage collection on most `memory.grow` calls. Measured in one thread, 3000 model loads:
 * 1064 grows, 52 s in all and a p99 of 155 ms per load; with this reserve 9 grows, 12 s and 36 ms,
 * at the same RSS. Reserving is allocating one large block and freeing it at once: the allocator
 * keeps the freed space for the next allocations, and pages nobody writes to never become resident.
 */
export class WasmHeadroom {
  #knownSize = 0;

  constructor(
    private readonly wasm: InitOutput,
    private readonly minimumStepBytes = 16 * MiB,
  ) {
    this.check();
  }

  /** Call after allocating: when the allocator had to grow the memory, reserve the next step. */
  check(): void {
    const size = this.wasm.memory.buffer.byteLength;
    if (size === this.#knownSize) return;
    const step = Math.max(this.minimumStepBytes, Math.floor(size / 2));
    try {
      const pointer = this.wasm.__wbindgen_malloc(step, 8);
      this.wasm.__wbindgen_free(pointer, step, 8);
    } catch {
      // Near WebAssembly's 4 GiB ceiling: loads go on growing the memory a little at a time.
    }
    this.#knownSize = this.wasm.memory.buffer.byteLength;
  }
}
