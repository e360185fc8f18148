/**
 * How many instances a night's training job asks for (DESIGN.md, "Training capacity"): enough that
 * each gets about `customersPerInstance` customers, never more than the configured instances, at
 * least one. The pipeline (its environment, `PIPELINE_ENV.trainingCustomersPerInstance`) and the
 * Pulumi program (the stack config key of the same name) both take the setting's limits from here.
 *
 * Why: every training instance is billed and pays its own provisioning, image pull and container
 * start, while one instance trains thousands of customers in seconds, so a night where a few
 * customers changed must not start the configured fleet.
 */

/**
 * Customers one instance should have before another is started. The larger, the cheaper: measured
 * with the compiled training container on this project's 2-core machine (noisy weekly data, default
 * hyperparameters, medians of 3, load 7–9 from other jobs), an instance's own start costs 1.3 CPU-s
 * (1 customer on one thread: 1.34 CPU-s) and its second thread 0.5–0.6 more, against ≈ 5–7 CPU ms
 * a customer (500 customers on two threads: 4.8 CPU-s, a third of it start-up); on AWS an
 * instance's provisioning and image pull take minutes, during which one instance would have
 * trained thousands. 500 is the largest round figure that keeps the 1,000-customer demo night on
 * 2 instances (ShardedByS3Key at work); a 20-customer incremental night runs on one. Per instance
 * type: an instance with twice the CPUs takes twice the customers.
 */
export const TRAINING_CUSTOMERS_PER_INSTANCE = { default: 500, min: 1, max: 1_000_000 } as const;

/** InstanceCount for `customersToTrain` customers: min(configured, ⌈customers / per instance⌉), at least 1. */
export function trainingInstanceCount(configuredInstances: number, customersToTrain: number, customersPerInstance: number): number {
  return Math.max(1, Math.min(configuredInstances, Math.ceil(customersToTrain / customersPerInstance)));
}
