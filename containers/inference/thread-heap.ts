import v8 from 'node:v8';
import vm from 'node:vm';
import { measuredHeapBytes, mustCollectGarbage } from './memory-budget.js';

// V8 exposes a full collection only behind this flag; a fresh context then holds `gc` (the flag is
// read when a context is created), without putting it on this thread's global object.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/**
 * This thread's V8 heap as the memory budget counts it: what it holds, garbage included, but never
 * more than the garbage allowance above what it held after its last full collection. A measure that
 * finds more collects first and measures again, so the figure the budget reads stays near the live
 * heap without collecting on every request (a full collection takes 10–40 ms here).
 */
export class ThreadHeap {
  #collectedBytes: number;
  #allowanceBytes = Number.POSITIVE_INFINITY;
  #collections = 0;

  constructor() {
    collectGarbage();
    this.#collectedBytes = measuredHeapBytes();
  }

  /** Garbage this heap may hold before it is collected (see `garbageAllowanceBytes`). */
  limitGarbage(allowanceBytes: number): void {
    this.#allowanceBytes = allowanceBytes;
  }

  /** Full collections run so far because the heap passed its allowance. */
  get collections(): number {
    return this.#collections;
  }

  measure(): number {
    const heapBytes = measuredHeapBytes();
    // Below the mark, V8 collected on its own: the heap may gather its allowance again from here, no more.
    this.#collectedBytes = Math.min(this.#collectedBytes, heapBytes);
    if (!mustCollectGarbage(heapBytes, this.#collectedBytes, this.#allowanceBytes)) return heapBytes;
    collectGarbage();
    this.#collections++;
    this.#collectedBytes = measuredHeapBytes();
    return this.#collectedBytes;
  }
}
