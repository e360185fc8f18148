import type { CustomerDecision } from '../pipeline/decisions.js';

/**
 * The CloudWatch metrics a pipeline run emits (embedded metric format, derived from its finished
 * report) and the Pulumi program's alarms and dashboard read. Both sides import the names from here,
 * so an alarm can never watch a metric the pipeline does not write.
 */

/** Namespace used when the stack does not set one (`FORECAST_METRICS_NAMESPACE`). */
export const DEFAULT_METRICS_NAMESPACE = 'ForecastFleet';

/** CloudWatch's namespace rule (as `aws-embedded-metrics` checks it); `AWS/` is reserved for AWS's own. */
export const METRICS_NAMESPACE_PATTERN = /^(?!AWS\/)(?=.*\S)[a-zA-Z0-9 ._#:/-]{1,255}$/;

/** Dimension values: CloudWatch takes 1-1024 ASCII characters; a stack name is far shorter. */
export const METRICS_STACK_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Dimensions of every metric: the stack, so one account can hold several environments. */
export const METRIC_DIMENSIONS = {
  stack: 'Stack',
  /** Step durations carry the step's name as well (`PIPELINE_STEPS`). */
  step: 'Step',
} as const;

/** Per-decision counts, one metric for each of `CUSTOMER_DECISIONS` plus `kept`. */
export const DECISION_METRICS: Readonly<Record<CustomerDecision | 'kept', string>> = {
  accepted: 'CustomersAccepted',
  rejected: 'CustomersRejected',
  failed: 'CustomersFailed',
  unchanged: 'CustomersUnchanged',
  dropped: 'CustomersDropped',
  kept: 'CustomersKept',
};

export const METRIC_NAMES = {
  /** 1 when the run succeeded, 0 when it failed; no data point means no run at all. */
  runSucceeded: 'RunSucceeded',
  runSeconds: 'RunSeconds',
  /** Seconds one step took, with the `Step` dimension. */
  stepSeconds: 'StepSeconds',
  customersProcessed: 'CustomersProcessed',
  /** Models the training job wrote (valid or not). */
  modelsTrained: 'ModelsTrained',
  ...DECISION_METRICS,
  /** Rejected plus failed customers over the customers the run decided on. */
  rejectedOrFailedShare: 'RejectedOrFailedShare',
  /** Customers served by a model older than the stale limit. */
  customersStale: 'CustomersStale',
  quarantinedRows: 'QuarantinedRows',
  /** Quarantined rows over all raw rows read. */
  quarantinedShare: 'QuarantinedShare',
  /** Age in days of the oldest model the manifest serves. */
  oldestModelAgeDays: 'OldestModelAgeDays',
  /** Holdout WAPE (Σ|error| / Σ|actual|) of the run's valid models: median and 90th percentile. */
  holdoutErrorP50: 'HoldoutErrorP50',
  holdoutErrorP90: 'HoldoutErrorP90',
  /** Share of the run's models whose holdout MAE beats the seasonal-naive forecast. */
  beatsSeasonalNaiveShare: 'BeatsSeasonalNaiveShare',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** The holdout error measure the percentiles summarize (a key of the report's `metrics.byName`). */
export const HOLDOUT_ERROR_MEASURE = 'wape';
