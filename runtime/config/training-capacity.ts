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
 * Customers one instance should have before another is started. Measured with the compiled training
 * container on this project's 2-core machine (noisy weekly data, default hyperparameters): one
 * instance's fixed cost is ≈ 1.4 CPU-s (process start, module compile, its worker threads' warm-up)
 * and each customer ≈ 14 CPU ms (holdout fit, evaluation, refit, archive). At 500 customers the
 * fixed cost is ≈ 17 % of an instance's work, at 100 it is as much as the work itself; on AWS an
 * instance's start (provisioning, image pull) costs minutes, far more. 500 keeps the 1,000-customer
 * night on 2 instances (ShardedByS3Key at work), and a 20-customer incremental night on one.
 */
export const TRAINING_CUSTOMERS_PER_INSTANCE = { default: 500, min: 1, max: 1_000_000 } as const;

/** InstanceCount for `customersToTrain` customers: min(configured, ⌈customers / per instance⌉), at least 1. */
export function trainingInstanceCount(configuredInstances: number, customersToTrain: number, customersPerInstance: number): number {
  return Math.max(1, Math.min(configuredInstances, Math.ceil(customersToTrain / customersPerInstance)));
}
