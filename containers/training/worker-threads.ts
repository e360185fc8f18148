/**
 * How many worker threads a training host starts: one per `CUSTOMERS_PER_WORKER_THREAD` customers
 * of its shard (rounded up), at most `maxThreads` (the `workers` hyperparameter, all CPUs by
 * default), none when nothing is left to train.
 *
 * A thread's start is not free: compiling the modules, loading Prophet's WebAssembly, JIT warm-up
 * and the GC of its first fits cost ≈ 0.6 CPU-s, while a warm customer costs ≈ 14 CPU ms (holdout
 * fit, refit, archive; exact solver). A thread pays for its start once it takes over about 45
 * customers, so a host with 20 customers trains them on one thread, and a 1,000-customer shard
 * on every CPU.
 */
export const CUSTOMERS_PER_WORKER_THREAD = 50;

export function workerThreadCount(maxThreads: number, customers: number, customersPerThread = CUSTOMERS_PER_WORKER_THREAD): number {
  return Math.min(maxThreads, Math.ceil(customers / customersPerThread));
}
