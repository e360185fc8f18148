import { readFile } from 'node:fs/promises';
import os from 'node:os';

const MiB = 1024 * 1024;

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
 * What one loaded model costs, estimated before loading it from the size of its `model.json`.
 * Calibrated with test/bench/inference.bench.ts: a replayed daily model holds its fitted Prophet
 * (≈ 90 KB of WebAssembly memory) plus the parsed history while it is replayed.
 */
export function estimateModelBytes(modelJsonBytes: number): number {
  return 96 * 1024 + 2 * modelJsonBytes;
}

/**
 * Accounts the memory loaded models take against a budget, so a load that would pass it is refused
 * (507) before it is attempted: an estimate checked up front, not an out-of-memory kill afterwards.
 * It counts estimates, not RSS, because WebAssembly memory never shrinks: after an unload the freed
 * space is reused by the next load but RSS stays where it was.
 */
export class MemoryBudget {
  #reserved = 0;

  constructor(readonly budgetBytes: number) {
    if (!(budgetBytes >= 0)) throw new RangeError(`memory budget must be a number of bytes >= 0; received ${budgetBytes}`);
  }

  get reservedBytes(): number {
    return this.#reserved;
  }

  tryReserve(bytes: number): boolean {
    if (this.#reserved + bytes > this.budgetBytes) return false;
    this.#reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved - bytes);
  }
}
