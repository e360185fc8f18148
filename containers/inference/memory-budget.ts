import { readFile } from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';

const MiB = 1024 * 1024;

/** WebAssembly memory grows by whole 64 KiB pages, so a load may grow it by up to a page more than it needs. */
export const WASM_PAGE_BYTES = 64 * 1024;

/** cgroup v2 writes "max" and cgroup v1 a number near 2^63 when the container has no memory limit. */
const CGROUP_LIMIT_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

/** The memory this container may use: its cgroup limit when there is one, else the machine's memory. */
export async function containerMemoryLimit(files: readonly string[] = CGROUP_LIMIT_FILES): Promise<number> {
  const total = os.totalmem();
  for (const file of files) {
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).trim();
    } catch {
      continue;
    }
    const limit = Number(text);
    if (Number.isSafeInteger(limit) && limit > 0) return Math.min(limit, total);
  }
  return total;
}

/**
 * Memory kept free for the process itself (V8 heaps, WebAssembly instances, request buffers) and for
 * estimates that fall short: a tenth of the limit, at least 256 MiB.
 */
export function headroomBytes(limitBytes: number): number {
  return Math.max(256 * MiB, Math.round(limitBytes * 0.1));
}

/**
 * What one loaded model costs, guessed before loading it from the size of its `model.json`: a
 * replayed daily model holds its fitted Prophet (≈ 70 KB of WebAssembly memory, measured) plus the
 * parsed history while it is replayed. Only a first guess: what a load is allowed to grow memory
 * by before it is measured (see `growthAllowance`).
 */
export function estimateModelBytes(modelJsonBytes: number): number {
  return 96 * 1024 + 2 * modelJsonBytes;
}

/** What one model thread holds, measured in the thread itself and sent with every answer it gives. */
export interface ThreadMemory {
  /** V8 heap in use, young generation excluded (short-lived garbage, collected within milliseconds). */
  heapBytes: number;
  /** Prophet's WebAssembly memory (`memory.buffer.byteLength`): it grows, and never shrinks. */
  wasmBytes: number;
}

export function threadBytes(reading: ThreadMemory): number {
  return reading.heapBytes + reading.wasmBytes;
}

/**
 * The measured state the budget rules read: for every model thread, what it holds now and what it
 * held when it started (before any model). The HTTP thread is one of them when it holds the models
 * itself; when worker threads hold them, its heap holds a few hundred bytes per model and otherwise
 * the server's own short-lived garbage (3 MB measured before the first load), so it is reported
 * beside the measured figure but does not decide loads.
 */
export interface MeasuredThreads {
  threads: readonly {
    now: ThreadMemory;
    start: ThreadMemory;
    /** What it held once its models were in place: at start, or after a replacement thread took them over. */
    settled: ThreadMemory;
  }[];
}

/** Memory the loaded models take, measured: what every model thread holds now above what it held at start. */
export function measuredModelBytes(m: MeasuredThreads): number {
  let bytes = 0;
  for (const thread of m.threads) bytes += threadBytes(thread.now) - threadBytes(thread.start);
  return Math.max(0, bytes);
}

/**
 * How much one load may grow its thread's WebAssembly memory. A model that fits in memory the thread
 * already holds (freed by an unload, or grown by a forecast) costs nothing new and is let in (past
 * the budget, only into room unloads freed: `mayReuseHeldMemory`), which is why WebAssembly memory
 * that never shrinks does not refuse loads forever; a load that must
 * grow the memory may grow it only within what the budget has left after the measured use and the
 * other loads under way. When plenty is left it may grow more, so that the thread keeps free space
 * ahead (see WasmHeadroom), but never more than a share of what is left.
 */
export function growthAllowance(o: { budgetBytes: number; measuredBytes: number; allowedToOthersBytes: number; estimateBytes: number; threads: number }): number {
  const left = o.budgetBytes - o.measuredBytes - o.allowedToOthersBytes;
  if (left <= 0) return 0;
  return Math.min(left, Math.max(o.estimateBytes + WASM_PAGE_BYTES, Math.floor(left / (2 * o.threads))));
}

/** A load is kept when its measured growth stayed within its allowance; otherwise it is undone and answered 507. */
export function keepsLoad(grownBytes: number, allowanceBytes: number): boolean {
  return grownBytes <= allowanceBytes;
}

/**
 * Whether a load that grew nothing may stay in memory its thread already held. Under the budget, yes.
 * Past it (memory a refused load grew stays with the thread, and V8 heaps hold garbage), only into
 * room that unloads freed (`freedBytes`, the estimates of the models unloaded less those of the loads
 * that reused memory since): otherwise refused loads would each leave a little free memory behind and the
 * models loaded into it would creep past the budget.
 */
export function mayReuseHeldMemory(o: { measuredBytes: number; budgetBytes: number; freedBytes: number; estimateBytes: number }): boolean {
  return o.measuredBytes <= o.budgetBytes || o.freedBytes >= o.estimateBytes;
}

/**
 * How far past the budget the measured use may go before a thread is replaced: an eighth of the budget
 * and 4 MiB more, since V8 heaps hold garbage until their next full collection (1.6 MB measured after
 * 16 loads at once into one thread).
 */
export function recycleMarginBytes(budgetBytes: number): number {
  return budgetBytes / 8 + 4 * MiB;
}

/**
 * Which thread to replace when the measured use has passed the budget by more than its margin (forecasts
 * grow WebAssembly memory for their sample matrices, and it is never given back): the thread holding
 * the most above its share of the budget, if it grew by more than a quarter of that share since its
 * models were in place (so a thread whose models alone take more than its share is not replaced again
 * and again). Replacing it (its models loaded again on a new thread, then the old one ended) returns
 * what its models no longer use. -1 when none should be.
 */
export function threadToRecycle(m: MeasuredThreads, budgetBytes: number): number {
  if (m.threads.length === 0 || measuredModelBytes(m) <= budgetBytes + recycleMarginBytes(budgetBytes)) return -1;
  const share = budgetBytes / m.threads.length;
  let chosen = -1;
  let most = 0;
  m.threads.forEach((thread, index) => {
    const held = threadBytes(thread.now);
    const over = held - threadBytes(thread.start) - share;
    if (over > most && held - threadBytes(thread.settled) > share / 4) {
      most = over;
      chosen = index;
    }
  });
  return chosen;
}

const YOUNG_GENERATION = new Set(['new_space', 'new_large_object_space']);

/** This thread's V8 heap in use, young generation excluded: what outlives a request. */
export function measuredHeapBytes(): number {
  let bytes = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (!YOUNG_GENERATION.has(space.space_name)) bytes += space.space_used_size;
  return bytes;
}
