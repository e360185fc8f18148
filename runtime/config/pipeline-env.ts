/**
 * The environment variables that configure one pipeline run. The Pulumi program writes them into
 * the Fargate task definition and the pipeline reads them, so both sides import these names from
 * here and can never drift apart.
 */
export const PIPELINE_ENV = {
  /** S3 bucket holding raw data, runs, models and manifests. */
  bucket: 'FORECAST_BUCKET',
  /** Key prefix of the raw drops inside the bucket (default `raw/`). */
  rawPrefix: 'FORECAST_RAW_PREFIX',
  /** ARN of the execution role SageMaker jobs run as. */
  sagemakerRoleArn: 'FORECAST_SAGEMAKER_ROLE_ARN',
  /** Prefix of every SageMaker job name this stack creates; IAM allows only names with it. */
  jobNamePrefix: 'FORECAST_JOB_NAME_PREFIX',
  processingImage: 'FORECAST_PROCESSING_IMAGE',
  trainingImage: 'FORECAST_TRAINING_IMAGE',
  processingInstanceType: 'FORECAST_PROCESSING_INSTANCE_TYPE',
  processingInstanceCount: 'FORECAST_PROCESSING_INSTANCE_COUNT',
  trainingInstanceType: 'FORECAST_TRAINING_INSTANCE_TYPE',
  /** Most training instances a night may start (default 2). */
  trainingInstanceCount: 'FORECAST_TRAINING_INSTANCE_COUNT',
  /** Customers per training instance before another one is started (default 500; `training-capacity.ts`). */
  trainingCustomersPerInstance: 'FORECAST_TRAINING_CUSTOMERS_PER_INSTANCE',
  /** `true` runs training on managed spot capacity. */
  trainingSpot: 'FORECAST_TRAINING_SPOT',
  trainingMaxRuntimeSeconds: 'FORECAST_TRAINING_MAX_RUNTIME_SECONDS',
  /** JSON object of string hyperparameters passed to the training job. */
  hyperparameters: 'FORECAST_HYPERPARAMETERS',
  /** Name of the multi-model endpoint the validated models are served from. */
  endpointName: 'FORECAST_ENDPOINT_NAME',
  /** IANA time zone of the nightly schedule; run ids are days in this zone. */
  scheduleTimezone: 'FORECAST_SCHEDULE_TIMEZONE',
  /** ISO time the scheduler meant to start this run (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`); now when unset. */
  scheduledTime: 'FORECAST_SCHEDULED_TIME',
  /** Publishing rules (meaning, defaults and bounds in `publishing-rules.ts`). */
  gateBaselineTolerance: 'FORECAST_GATE_BASELINE_TOLERANCE',
  gateChampionTolerance: 'FORECAST_GATE_CHAMPION_TOLERANCE',
  gateErrorFloor: 'FORECAST_GATE_ERROR_FLOOR',
  gateSanityBand: 'FORECAST_GATE_SANITY_BAND',
  gateHorizonDays: 'FORECAST_GATE_HORIZON_DAYS',
  maxRejectedFraction: 'FORECAST_MAX_REJECTED_FRACTION',
  maxQuarantinedFraction: 'FORECAST_MAX_QUARANTINED_FRACTION',
  maxModelAgeDays: 'FORECAST_MAX_MODEL_AGE_DAYS',
  maxStaleFraction: 'FORECAST_MAX_STALE_FRACTION',
  warmModels: 'FORECAST_WARM_MODELS',
  /** CloudWatch namespace of the run's metrics (names in `metric-names.ts`). */
  metricsNamespace: 'FORECAST_METRICS_NAMESPACE',
  /** Value of the metrics' `Stack` dimension: the Pulumi stack's name. */
  metricsStack: 'FORECAST_METRICS_STACK',
  /** Absolute folder for the metric records (`<runId>.jsonl`) instead of stdout; local mode sets it. */
  metricsDir: 'FORECAST_METRICS_DIR',
  /** `true` retrains every customer, changed or not (default `false`: only customers whose data or settings changed). */
  fullRetrain: 'FORECAST_FULL_RETRAIN',
  /** A customer with no row newer than this many days before the newest row of the data set leaves the manifest (default 90). */
  dropAfterDays: 'FORECAST_DROP_AFTER_DAYS',
  /** Days a model version, run data or history manifest is kept unless a kept manifest references it (default 30). */
  retentionDays: 'FORECAST_RETENTION_DAYS',
} as const;

export type PipelineEnvKey = keyof typeof PIPELINE_ENV;
export type PipelineEnvName = (typeof PIPELINE_ENV)[PipelineEnvKey];
