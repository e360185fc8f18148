import type { TrainingSettings } from './hyperparameters.js';

/**
 * How many worker threads a training host starts: one per `customersPerWorkerThread(settings)`
 * customers of its shard (rounded up), at most `maxThreads` (the `workers` hyperparameter, all CPUs
 * by default), none when nothing is left to train.
 *
 * A thread's start is not free: loading its modules and Prophet's WebAssembly, JIT warm-up and the
 * GC of its first fits. Measured with the compiled container on this project's 2-core machine
 * (noisy weekly data, default hyperparameters, medians of 3 runs, other jobs beside it):
 * - exact solver: one thread took 1.44 CPU-s for 50 customers and 2.45 for 200 (≈ 6.7 CPU ms a
 *   warm customer: holdout fit, evaluation, refit, archive); a second thread added 0.5–0.6 CPU-s at
 *   10 to 100 customers, so it pays for its start once it takes over ≈ 80 customers;
 * - `optimizer=stan`: one thread took 2.75 CPU-s for 4 customers and 3.14 for 16 (≈ 35–80 ms a
 *   customer, two Stan fits); a second thread added 0.7–0.75 CPU-s (augurs' Stan WebAssembly
 *   included) and at 16 customers finished no sooner (2.31 s wall against 2.28).
 */
export const CUSTOMERS_PER_WORKER_THREAD = { exact: 100, stan: 20 } as const;

/** Customers a thread should take: fewer when every fit goes through augurs' slower Stan optimizer. */
export function customersPerWorkerThread(settings: Pick<TrainingSettings, 'optimizer' | 'prophet'>): number {
  // Multiplicative seasonality has no exact solver (prophet-map.ts): Stan fits it whatever the optimizer.
  const stan = settings.optimizer === 'stan' || settings.prophet.seasonalityMode === 'multiplicative';
  return stan ? CUSTOMERS_PER_WORKER_THREAD.stan : CUSTOMERS_PER_WORKER_THREAD.exact;
}

export function workerThreadCount(maxThreads: number, customers: number, customersPerThread: number): number {
  return Math.min(maxThreads, Math.ceil(customers / customersPerThread));
}

/** The threads a host starts for `customers` customers under `settings`. */
export function workerThreadsFor(settings: Pick<TrainingSettings, 'workers' | 'optimizer' | 'prophet'>, customers: number): number {
  return workerThreadCount(settings.workers, customers, customersPerWorkerThread(settings));
}
