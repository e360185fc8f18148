/**
 * How many worker threads a training host starts: one per `CUSTOMERS_PER_WORKER_THREAD` customers
 * of its shard (rounded up), at most `maxThreads` (the `workers` hyperparameter, all CPUs by
 * default), none when nothing is left to train.
 *
 * A thread's start is not free: loading its modules and Prophet's WebAssembly, JIT warm-up and the
 * GC of its first fits. Measured with the compiled container on this project's 2-core machine
 * (noisy weekly data, default hyperparameters, 3 runs each): one thread took 1.44 CPU-s for 50
 * customers and 2.45 for 200 (≈ 6.7 CPU ms a warm customer: holdout fit, evaluation, refit,
 * archive), and a second thread added 0.5–0.6 CPU-s at 10 to 100 customers. A thread pays for its
 * start once it takes over ≈ 80 customers: a 20-customer incremental shard trains on one thread,
 * a 500-customer shard on every CPU.
 */
export const CUSTOMERS_PER_WORKER_THREAD = 100;

export function workerThreadCount(maxThreads: number, customers: number, customersPerThread = CUSTOMERS_PER_WORKER_THREAD): number {
  return Math.min(maxThreads, Math.ceil(customers / customersPerThread));
}
