import type {
  CreateProcessingJobRequest,
  CreateTrainingJobRequest,
  ProcessingInstanceType,
  TrainingInstanceType,
} from '@aws-sdk/client-sagemaker';
import type { PipelineConfig } from '../config/pipeline-config.js';
import {
  customerDataPrefix,
  processingReportPrefix,
  runModelsPrefix,
  s3Uri,
  trainingChannelKey,
  trainingOutputPrefix,
} from './bucket-layout.js';
import { jobName } from './run-id.js';
import { trainingInstanceCount } from '../config/training-capacity.js';
import { MAX_HYPERPARAMETERS, MAX_HYPERPARAMETER_LENGTH, MAX_TRAINING_RUNTIME_SECONDS } from '../config/sagemaker-limits.js';

/**
 * Pure builders of the SageMaker requests one run makes. They validate against the API's limits
 * (reference/sagemaker-contracts.md §5.2, §5.3) before anything is sent.
 */

/** Where the processing container reads the raw drops and writes its outputs (A's container contract). */
export const PROCESSING_PATHS = {
  rawInput: '/opt/ml/processing/input/raw',
  customerDataOutput: '/opt/ml/processing/output/customer-data',
  reportOutput: '/opt/ml/processing/output/report',
} as const;

export const TRAINING_CHANNEL = 'train';
export const CHECKPOINT_LOCAL_PATH = '/opt/ml/checkpoints';
/** Processing reads every raw drop and writes one small CSV per customer; an hour is generous. */
export const PROCESSING_MAX_RUNTIME_SECONDS = 3600;
export const PROCESSING_VOLUME_GB = 30;
export const TRAINING_VOLUME_GB = 30;
/** Spot capacity may take a while to arrive: wait up to twice the run time for it. */
export const SPOT_WAIT_FACTOR = 2;
/** The training container records this hyperparameter in every model: the pipeline sets it to the run id. */
export const RUN_ID_HYPERPARAMETER = 'run_id';


export function buildProcessingJobRequest(config: PipelineConfig, runId: string, attempt = 1): CreateProcessingJobRequest {
  const { bucket } = config;
  return {
    ProcessingJobName: jobName(config.jobNamePrefix, runId, 'process', attempt),
    RoleArn: config.sagemakerRoleArn,
    // The image's entrypoint dispatches on its first argument (containers/cli.ts).
    AppSpecification: { ImageUri: config.processing.image, ContainerArguments: ['process'] },
    ProcessingResources: {
      ClusterConfig: {
        InstanceCount: config.processing.instanceCount,
        // Validated as ml.<family>.<size> by the config; new types need no SDK upgrade.
        InstanceType: config.processing.instanceType as ProcessingInstanceType,
        VolumeSizeInGB: PROCESSING_VOLUME_GB,
      },
    },
    ProcessingInputs: [
      {
        InputName: 'raw',
        S3Input: {
          S3Uri: s3Uri(bucket, config.rawPrefix),
          LocalPath: PROCESSING_PATHS.rawInput,
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    ],
    ProcessingOutputConfig: {
      Outputs: [
        {
          OutputName: 'customer-data',
          S3Output: { S3Uri: s3Uri(bucket, customerDataPrefix(runId)), LocalPath: PROCESSING_PATHS.customerDataOutput, S3UploadMode: 'EndOfJob' },
        },
        {
          OutputName: 'report',
          S3Output: { S3Uri: s3Uri(bucket, processingReportPrefix(runId)), LocalPath: PROCESSING_PATHS.reportOutput, S3UploadMode: 'EndOfJob' },
        },
      ],
    },
    StoppingCondition: { MaxRuntimeInSeconds: PROCESSING_MAX_RUNTIME_SECONDS },
  };
}

/**
 * `customersToTrain` decides the instance count (`trainingInstanceCount`): instances are billed and
 * slow to start, so a night with few customers to train asks for few, up to the configured count.
 */
export function buildTrainingJobRequest(config: PipelineConfig, runId: string, attempt = 1, customersToTrain = Infinity): CreateTrainingJobRequest {
  const { bucket, training } = config;
  const hyperparameters = { ...training.hyperparameters, [RUN_ID_HYPERPARAMETER]: runId };
  validateHyperparameters(hyperparameters);
  const maxRuntime = training.maxRuntimeSeconds;
  if (!Number.isSafeInteger(maxRuntime) || maxRuntime < 1 || maxRuntime > MAX_TRAINING_RUNTIME_SECONDS) {
    throw new RangeError(`Training [MaxRuntimeInSeconds] is ${maxRuntime}; SageMaker allows 1 to ${MAX_TRAINING_RUNTIME_SECONDS}`);
  }
  if (!Number.isSafeInteger(training.instanceCount) || training.instanceCount < 1) {
    throw new RangeError(`Training [InstanceCount] is ${training.instanceCount}; expected an integer from 1`);
  }
  const maxWait = Math.min(maxRuntime * SPOT_WAIT_FACTOR, MAX_TRAINING_RUNTIME_SECONDS);
  return {
    TrainingJobName: jobName(config.jobNamePrefix, runId, 'train', attempt),
    RoleArn: config.sagemakerRoleArn,
    AlgorithmSpecification: { TrainingImage: training.image, TrainingInputMode: 'File' },
    HyperParameters: hyperparameters,
    InputDataConfig: [
      {
        ChannelName: TRAINING_CHANNEL,
        DataSource: {
          S3DataSource: {
            // The customers to retrain, listed by `buildTrainingChannelManifest`.
            S3DataType: 'ManifestFile',
            S3Uri: s3Uri(bucket, trainingChannelKey(runId)),
            // Each instance gets its own customers: one CSV object per customer.
            S3DataDistributionType: 'ShardedByS3Key',
          },
        },
        ContentType: 'text/csv',
        CompressionType: 'None',
        InputMode: 'File',
      },
    ],
    OutputDataConfig: { S3OutputPath: s3Uri(bucket, trainingOutputPrefix(runId)) },
    ResourceConfig: {
      InstanceType: training.instanceType as TrainingInstanceType,
      InstanceCount: trainingInstanceCount(training.instanceCount, customersToTrain, training.customersPerInstance),
      VolumeSizeInGB: TRAINING_VOLUME_GB,
    },
    StoppingCondition: training.spot ? { MaxRuntimeInSeconds: maxRuntime, MaxWaitTimeInSeconds: maxWait } : { MaxRuntimeInSeconds: maxRuntime },
    EnableManagedSpotTraining: training.spot,
    // Every finished model is a checkpoint: a retried or interrupted job restores them and skips those customers.
    CheckpointConfig: { S3Uri: s3Uri(bucket, runModelsPrefix(runId)), LocalPath: CHECKPOINT_LOCAL_PATH },
  };
}

/**
 * The training channel's manifest file (SageMaker's ManifestFile format): the run's customer-data
 * prefix, then one `<customerId>.csv` per customer to train.
 */
export function buildTrainingChannelManifest(bucket: string, runId: string, customerIds: readonly string[]): [{ prefix: string }, ...string[]] {
  if (customerIds.length === 0) throw new RangeError(`The training channel of run ${runId} lists no customer; a run with nothing to train starts no training job`);
  return [{ prefix: s3Uri(bucket, customerDataPrefix(runId)) }, ...customerIds.map((id) => `${id}.csv`)];
}

function validateHyperparameters(hyperparameters: Readonly<Record<string, string>>): void {
  const entries = Object.entries(hyperparameters);
  if (entries.length > MAX_HYPERPARAMETERS) {
    throw new RangeError(`Training [HyperParameters] has ${entries.length} entries; SageMaker allows at most ${MAX_HYPERPARAMETERS}`);
  }
  for (const [key, value] of entries) {
    if (typeof value !== 'string') {
      throw new TypeError(`Training [HyperParameters.${key}] is ${typeof value}; SageMaker takes strings only`);
    }
    if (key.length === 0 || key.length > MAX_HYPERPARAMETER_LENGTH || value.length > MAX_HYPERPARAMETER_LENGTH) {
      throw new RangeError(
        `Training [HyperParameters.${key}] has a ${key.length}-character key and a ${value.length}-character value; SageMaker allows 1-${MAX_HYPERPARAMETER_LENGTH} and 0-${MAX_HYPERPARAMETER_LENGTH}`,
      );
    }
  }
}
