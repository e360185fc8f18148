import { DECISION_METRICS, HOLDOUT_ERROR_MEASURE, METRIC_DIMENSIONS, METRIC_NAMES } from '../config/metric-names.js';
import type { DecisionCounts } from './decisions.js';
import type { RunReport } from './report.js';

/**
 * The metrics of one finished run, derived from its report and nothing else, so every value a
 * dashboard or an alarm sees is one the report states. A metric the report has no data for (a run
 * that failed before validation, a field an older pipeline did not write) is left out rather than
 * reported as 0, which alarms would read as a real value.
 */

export type MetricUnit = 'Count' | 'Seconds' | 'None';

export interface MetricValue {
  readonly name: string;
  readonly value: number;
  readonly unit: MetricUnit;
}

/** One EMF record: its metrics share the record's dimensions. */
export interface MetricRecord {
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly MetricValue[];
}

export function runMetricRecords(report: RunReport, stack: string): MetricRecord[] {
  const metrics: MetricValue[] = [];
  const put = (name: string, value: number | null | undefined, unit: MetricUnit) => {
    if (value !== undefined && value !== null && Number.isFinite(value)) metrics.push({ name, value, unit });
  };
  put(METRIC_NAMES.runSucceeded, report.status === 'succeeded' ? 1 : 0, 'Count');
  put(METRIC_NAMES.runSeconds, report.seconds, 'Seconds');
  put(METRIC_NAMES.customersProcessed, report.counts?.customers, 'Count');
  put(METRIC_NAMES.modelsTrained, report.counts?.modelsFound, 'Count');
  if (report.decisions !== undefined) {
    for (const [decision, name] of Object.entries(DECISION_METRICS)) put(name, report.decisions[decision as keyof DecisionCounts], 'Count');
    put(METRIC_NAMES.rejectedOrFailedShare, rejectedOrFailedShare(report.decisions), 'None');
  }
  put(METRIC_NAMES.customersStale, report.stale?.customers.length, 'Count');
  put(METRIC_NAMES.quarantinedRows, report.quarantine?.rows, 'Count');
  put(METRIC_NAMES.quarantinedShare, report.quarantine?.share, 'None');
  put(METRIC_NAMES.oldestModelAgeDays, report.oldestModelAgeDays, 'None');
  const holdout = report.metrics?.byName[HOLDOUT_ERROR_MEASURE];
  put(METRIC_NAMES.holdoutErrorP50, holdout?.median, 'None');
  put(METRIC_NAMES.holdoutErrorP90, holdout?.p90, 'None');
  put(METRIC_NAMES.beatsSeasonalNaiveShare, report.metrics?.beatsSeasonalNaive, 'None');

  const stackDimension = { [METRIC_DIMENSIONS.stack]: stack };
  return [
    { dimensions: stackDimension, metrics },
    ...report.steps.map((step) => ({
      dimensions: { ...stackDimension, [METRIC_DIMENSIONS.step]: step.step },
      metrics: [{ name: METRIC_NAMES.stepSeconds, value: step.seconds, unit: 'Seconds' as const }],
    })),
  ];
}

/** Rejected and failed customers over every customer the run decided to serve (dropped ones leave); null with none. */
export function rejectedOrFailedShare(decisions: DecisionCounts): number | null {
  const served = decisions.accepted + decisions.rejected + decisions.failed + decisions.unchanged;
  return served === 0 ? null : (decisions.rejected + decisions.failed) / served;
}
