import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorkerBeside } from '../../containers/shared/start-worker.js';
import { stopWorker } from '../../containers/shared/worker-stop.js';
import { checkModelBytes, type ModelCheck, type ModelCheckRequest } from './model-check.js';
import type { ModelCheckMessage, ModelCheckReply } from './model-check-worker.js';

/** Checks models on this thread or spread over worker threads. */
export interface ModelChecker {
  check(bytes: Uint8Array, request: ModelCheckRequest): Promise<ModelCheck>;
  close(): Promise<void>;
}

/**
 * Below this many models per thread a worker's start (loading Prophet's WebAssembly) costs more
 * than it saves; validation of a handful of models stays on the calling thread.
 */
const MODELS_PER_WORKER = 200;

/** Threads for `models` checks: one per core the process may use, fewer for small runs, none for tiny ones. */
export function modelCheckThreads(models: number, cores = os.availableParallelism()): number {
  return Math.max(0, Math.min(cores, Math.floor(models / MODELS_PER_WORKER)));
}

export function createModelChecker(threads: number): ModelChecker {
  if (threads <= 0) return { check: checkModelBytes, close: async () => {} };
  return new ModelCheckPool(threads);
}

/** Worker threads that each check one model at a time; a check goes to the thread with the fewest waiting. */
class ModelCheckPool implements ModelChecker {
  readonly #workers: { worker: Worker; pending: Map<number, { resolve: (check: ModelCheck) => void; reject: (error: Error) => void }> }[];
  #nextId = 0;

  constructor(threads: number) {
    this.#workers = Array.from({ length: threads }, () => {
      const entry = { worker: startWorkerBeside(import.meta.url, 'model-check-worker'), pending: new Map() };
      const failAll = (error: Error) => {
        for (const { reject } of entry.pending.values()) reject(error);
        entry.pending.clear();
      };
      entry.worker.on('message', (reply: ModelCheckReply) => {
        const waiting = entry.pending.get(reply.id);
        if (!waiting) return;
        entry.pending.delete(reply.id);
        if ('check' in reply) waiting.resolve(reply.check);
        else waiting.reject(new Error(`a model-check worker failed: ${reply.error}`));
      });
      entry.worker.on('error', (error) => failAll(new Error(`a model-check worker failed: ${error.message}`, { cause: error })));
      entry.worker.on('exit', (code) => failAll(new Error(`a model-check worker exited with code ${code}`)));
      return entry;
    });
  }

  check(bytes: Uint8Array, request: ModelCheckRequest): Promise<ModelCheck> {
    const entry = this.#workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      entry.worker.postMessage({ id, bytes, request } satisfies ModelCheckMessage);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map(({ worker }) => stopWorker(worker)));
  }
}
