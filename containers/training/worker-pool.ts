import type { Worker } from 'node:worker_threads';
import type { ModelMetrics } from '../shared/model-artifact.js';
import { startWorkerBeside } from '../shared/start-worker.js';
import { stopWorker } from '../shared/worker-stop.js';
import type { TrainingSettings } from './hyperparameters.js';
import type { CustomerTask } from './train-customer.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';
import { workerThreadsFor } from './worker-threads.js';

export type CustomerOutcome =
  | { customerId: string; status: 'trained'; metrics: ModelMetrics; ms: number }
  | { customerId: string; status: 'failed'; reason: string; ms: number }
  /** Abandoned because the job was stopped; its checkpoint was never written. */
  | { customerId: string; status: 'interrupted'; ms: number };

export interface PoolOptions {
  /** Stop taking customers once aborted; in-flight ones get `graceMs` to finish. */
  signal: AbortSignal;
  graceMs: number;
  onOutcome: (outcome: CustomerOutcome) => void;
}

/** A worker that has finished loading Prophet, or the reason it could not start. */
function startWorker(settings: TrainingSettings): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = startWorkerBeside(import.meta.url, 'worker', { workerData: settings });
    const onError = (error: Error) => {
      cleanup();
      reject(new Error(`a training worker failed to start: ${error.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`a training worker exited with code ${code} while starting`));
    };
    const onMessage = (reply: WorkerReply) => {
      if (reply.type !== 'ready') return;
      cleanup();
      resolve(worker);
    };
    const cleanup = () => {
      worker.off('error', onError).off('exit', onExit).off('message', onMessage);
    };
    worker.on('error', onError).on('exit', onExit).on('message', onMessage);
  });
}

/**
 * Runs one customer on a worker. `dead` means the worker must not be used again; `stan` whether
 * the customer went through augurs' Stan optimizer (a failure counts as if it had).
 */
function runOnWorker(
  worker: Worker,
  task: CustomerTask,
  timeoutMs: number,
  options: PoolOptions,
): Promise<{ outcome: CustomerOutcome; dead: boolean; stan: boolean }> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  return new Promise((resolve) => {
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: CustomerOutcome, dead: boolean, stan = true) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      options.signal.removeEventListener('abort', onAbort);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      resolve({ outcome, dead, stan });
    };
    const onMessage = (reply: WorkerReply) => {
      if (reply.type === 'trained') finish({ customerId: task.customerId, status: 'trained', metrics: reply.metrics, ms: reply.ms }, false, reply.stanFits > 0);
      else if (reply.type === 'failed') finish({ customerId: task.customerId, status: 'failed', reason: reply.reason, ms: reply.ms }, false);
    };
    const onError = (error: Error) =>
      finish({ customerId: task.customerId, status: 'failed', reason: `the training worker crashed: ${error.message}`, ms: elapsed() }, true);
    const onExit = (code: number) =>
      finish({ customerId: task.customerId, status: 'failed', reason: `the training worker exited with code ${code}`, ms: elapsed() }, true);
    const timer = setTimeout(
      () => finish({ customerId: task.customerId, status: 'failed', reason: `training took longer than ${timeoutMs / 1000} s; abandoned`, ms: elapsed() }, true),
      timeoutMs,
    );
    const onAbort = () => {
      graceTimer = setTimeout(() => finish({ customerId: task.customerId, status: 'interrupted', ms: elapsed() }, true), options.graceMs);
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    worker.postMessage({ type: 'train', task } satisfies WorkerRequest);
  });
}

/**
 * Trains `tasks` on up to `settings.workers` threads, one per `customersPerWorkerThread(settings)`
 * tasks (`workerThreadsFor`, worker-threads.ts). Each thread is replaced after
 * `settings.customersPerWorker` customers fitted with Stan, or at once if it crashes or overruns
 * its time, because augurs' Stan optimizer keeps the WebAssembly memory of every fit. Customers
 * the exact solver fits do not count: 3000 exact fits in one thread kept RSS flat (131 → 138 MB),
 * and a worker's start (tsx, WebAssembly) costs more CPU than dozens of exact fits. Rejects only if a worker cannot
 * start at all (then no customer could be trained); resolves when every task has an outcome or
 * the signal stopped the job.
 */
export async function trainInWorkers(tasks: readonly CustomerTask[], settings: TrainingSettings, options: PoolOptions): Promise<void> {
  const queue = [...tasks];
  const timeoutMs = settings.customerTimeoutSeconds * 1000;
  const slot = async () => {
    while (queue.length > 0 && !options.signal.aborted) {
      const worker = await startWorker(settings);
      let dead = false;
      try {
        for (let stanCustomers = 0; stanCustomers < settings.customersPerWorker && !options.signal.aborted; ) {
          const task = queue.shift();
          if (!task) break;
          const ran = await runOnWorker(worker, task, timeoutMs, options);
          options.onOutcome(ran.outcome);
          dead = ran.dead;
          if (dead) break;
          if (ran.stan) stanCustomers++;
        }
      } finally {
        // A crashed or overrunning thread is ended at once; a healthy one ends on its own.
        await (dead ? worker.terminate() : stopWorker(worker));
      }
    }
  };
  const slots = Array.from({ length: workerThreadsFor(settings, tasks.length) }, slot);
  const results = await Promise.allSettled(slots);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
