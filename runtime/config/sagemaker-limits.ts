/**
 * Limits of the SageMaker and SageMaker Runtime APIs (their service models), in one place for the
 * pipeline's request builders, the Pulumi program's config checks, the forecast client and local
 * mode's validation, so every side refuses exactly what AWS would.
 */

/** Names of jobs, models, endpoint configurations and endpoints. */
export const SAGEMAKER_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
export const SAGEMAKER_NAME_MAX_LENGTH = 63;

/** `HyperParameters`: at most 100 pairs, keys and values of at most 256 characters. */
export const MAX_HYPERPARAMETERS = 100;
export const MAX_HYPERPARAMETER_LENGTH = 256;

/** `StoppingCondition.MaxRuntimeInSeconds` of a training job: 28 days. */
export const MAX_TRAINING_RUNTIME_SECONDS = 28 * 24 * 3600;

/** InvokeEndpoint's `TargetModel`. */
export const TARGET_MODEL_PATTERN = /^\S[\p{L}\p{N}\p{P}\p{S}\p{Zs}]*$/u;
export const TARGET_MODEL_MAX_LENGTH = 1024;

/** InvokeEndpoint's request and response `Body` (BodyBlob): 6 MiB. */
export const MAX_INVOKE_BODY_BYTES = 6 * 1024 * 1024;
