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
 * parsed history while it is replayed (≈ 65 KB of both measured per model once loaded). Only a
 * first guess: the room a load needs before it runs (see `loadAllowance`).
 */
export function estimateModelBytes(modelJsonBytes: number): number {
  return 96 * 1024 + 2 * modelJsonBytes;
}

/** What one model thread holds, measured in the thread itself and sent with every answer it gives. */
export interface ThreadMemory {
  /**
   * V8 heap in use, young generation excluded (short-lived garbage, collected within milliseconds),
   * and collected first whenever it grew by more than its garbage allowance (see ThreadHeap).
   */
  heapBytes: number;
  /** Prophet's WebAssembly memory (`memory.buffer.byteLength`): it grows, and never shrinks. */
  wasmBytes: number;
  /** The most one forecast grew that memory so far (see `nextForecastReserveBytes`). */
  forecastReserveBytes: number;
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
    /** The estimates of the models it holds (each above what such a model measures). */
    modelEstimateBytes: number;
    garbageAllowanceBytes: number;
  }[];
}

/** Memory the loaded models take, measured: what every model thread holds now above what it held at start. */
export function measuredModelBytes(m: MeasuredThreads): number {
  let bytes = 0;
  for (const thread of m.threads) bytes += threadBytes(thread.now) - threadBytes(thread.start);
  return Math.max(0, bytes);
}

/**
 * Garbage a model thread's V8 heap may hold before the thread runs a full collection: a sixteenth of
 * its share of the budget, at least 256 KiB. V8 alone lets garbage pile up for megabytes before it
 * collects (2.6 MiB measured in one thread under eviction churn at a 16 MiB budget), and the budget
 * reserves this allowance for every thread, so what a thread's heap may still gather is counted
 * before it is there.
 */
export function garbageAllowanceBytes(budgetBytes: number, threads: number): number {
  return Math.max(256 * 1024, Math.floor(budgetBytes / (16 * Math.max(1, threads))));
}

/** Whether a heap must be collected before it is measured: it grew by more than its allowance since its last full collection. */
export function mustCollectGarbage(heapBytes: number, collectedHeapBytes: number, allowanceBytes: number): boolean {
  return heapBytes - collectedHeapBytes > allowanceBytes;
}

/**
 * The room the budget keeps for a thread's next forecast after one grew its WebAssembly memory by
 * `grownBytes`: the most any of its forecasts grew it. A forecast's sample matrices are freed when it
 * returns, but loads may then take that space, and the next forecast grows the memory again; with
 * this much kept out of the loads' room, that growth stays within the budget.
 */
export function nextForecastReserveBytes(reserveBytes: number, grownBytes: number): number {
  return Math.max(reserveBytes, grownBytes);
}

/**
 * What the budget has left for loads: the budget less the measured use of every thread, less what
 * every thread may still grow by itself (`reservedBytes`: its garbage allowance, as a heap may gather
 * that much before it is collected, and its forecast reserve), less what loads under way may still grow.
 */
export function roomLeftBytes(o: { budgetBytes: number; measuredBytes: number; reservedBytes: number; allowedToOthersBytes: number }): number {
  return o.budgetBytes - o.measuredBytes - o.reservedBytes - o.allowedToOthersBytes;
}

/**
 * Room the budget keeps in every thread for loads into room that unloads freed: such a load grows
 * nothing when the freed room is in one piece, but the allocator needs it contiguous, and a load that
 * finds it scattered grows the memory by up to four pages (the most measured for a replay).
 */
export const REUSE_GROWTH_RESERVE_BYTES = 4 * WASM_PAGE_BYTES;

export interface LoadAllowance {
  /** How much the load may grow its thread's WebAssembly memory. */
  bytes: number;
  /** It runs in room that unloads freed (and claims it). */
  intoFreedRoom: boolean;
}

/**
 * How much one load may grow its thread's WebAssembly memory, or `undefined` when it is refused
 * before it runs (507). A load only runs when its growth cannot take the measured use past the
 * budget. Either the room left, less the reserve for loads into freed room (`reuseReserveBytes`, of
 * every thread), holds its estimate and two pages (a replay works in more memory than the model
 * keeps, and the allocator grows by whole pages: loading 600 models one after another into a full
 * memory, 599 grew it by less than that). Or unloads freed room for it (`freedBytes`, the estimates of
 * the models unloaded and not yet reused, which the registry then counts as used), and it may grow
 * only into what is left of the reserve. When plenty is left, the first load under way in its thread
 * may grow more, so that the thread keeps free space ahead (see WasmHeadroom), but never more than a
 * share of what is left; the loads queued behind it get their estimate only, so that a burst of loads
 * does not halve the room down to nothing before any of them has run.
 */
export function loadAllowance(o: {
  roomLeftBytes: number;
  reuseReserveBytes: number;
  estimateBytes: number;
  threads: number;
  freedBytes: number;
  loadsUnderWay: number;
}): LoadAllowance | undefined {
  const needs = o.estimateBytes + 2 * WASM_PAGE_BYTES;
  const room = o.roomLeftBytes - o.reuseReserveBytes;
  if (room >= needs) {
    return { bytes: o.loadsUnderWay > 0 ? needs : Math.min(room, Math.max(needs, Math.floor(room / (2 * o.threads)))), intoFreedRoom: false };
  }
  if (o.freedBytes < o.estimateBytes) return undefined;
  return { bytes: Math.max(0, Math.min(REUSE_GROWTH_RESERVE_BYTES, o.roomLeftBytes)), intoFreedRoom: true };
}

/** A load is kept when its measured growth stayed within its allowance; otherwise it is undone and answered 507. */
export function keepsLoad(grownBytes: number, allowanceBytes: number): boolean {
  return grownBytes <= allowanceBytes;
}

/**
 * Which thread to replace, -1 for none. The rules above keep the measured use within the budget
 * unless something grew past them: a forecast that needed more than its thread's reserve and the
 * free memory (a long period at many samples: 366 days × 2000 samples ≈ 12 MB), or a model larger
 * than its estimate. Only then, and only the thread whose memory its models explain least: what it
 * holds beyond the estimates of its models must exceed both its garbage allowance and a quarter of
 * its share of the budget. Replacing it loads its models again on a new thread, then ends it, and
 * the memory nothing used goes with it; while its models move both threads hold them, so the move
 * is worth it only when it returns more than it copies, hence the quarter share.
 */
export function threadToRecycle(m: MeasuredThreads, budgetBytes: number): number {
  if (m.threads.length === 0 || measuredModelBytes(m) <= budgetBytes) return -1;
  const share = budgetBytes / m.threads.length;
  let chosen = -1;
  let most = 0;
  m.threads.forEach((thread, index) => {
    const unexplained = threadBytes(thread.now) - threadBytes(thread.start) - thread.modelEstimateBytes;
    if (unexplained > Math.max(share / 4, thread.garbageAllowanceBytes, thread.modelEstimateBytes) && unexplained > most) {
      most = unexplained;
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
