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

/**
 * Instance families with local NVMe instance storage besides those EC2 marks with a `d` attribute
 * (`c5d`, `m5ad`, `g4dn`, `c6id`, `p4d`): encrypted by a hardware module on the instance.
 */
const LOCAL_STORAGE_FAMILIES_WITHOUT_D = new Set(['g5', 'g6', 'g6e', 'gr6', 'p5', 'p5e', 'p5en', 'trn1', 'trn1n', 'trn2']);

/**
 * Whether an `ml.*` instance type stores on local NVMe instead of an EBS volume. SageMaker refuses a
 * KMS key for those: "If you specify a value for KmsKeyId when using any nitro-based instances
 * with local storage, the call to CreateEndpointConfig fails" (the same holds for training's
 * VolumeKmsKeyId).
 */
export function hasLocalInstanceStorage(instanceType: string): boolean {
  const family = /^ml\.([a-z0-9-]+)\.[a-z0-9]+$/.exec(instanceType)?.[1];
  if (family === undefined) return false;
  const attributes = /^[a-z]+\d+([a-z-]*)$/.exec(family)?.[1] ?? '';
  return attributes.includes('d') || LOCAL_STORAGE_FAMILIES_WITHOUT_D.has(family);
}
