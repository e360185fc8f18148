/**
 * What a run decided for each customer. The gate, incremental retraining and customer expiry each
 * decide; the report counts the decisions, the metrics are named after them and the alarms watch
 * them, so the vocabulary is fixed here once.
 */

export const CUSTOMER_DECISIONS = [
  /** The run's new model passed the gate and is served from now on. */
  'accepted',
  /** The new model failed the gate; the customer keeps the model it had (if any). */
  'rejected',
  /** No valid new model (training failed, the model is missing or unreadable); the customer keeps the model it had (if any). */
  'failed',
  /** Not retrained: its data and training settings hash to the serving model's; that model carries over. */
  'unchanged',
  /** No rows newer than the drop-after window: the customer leaves the manifest. */
  'dropped',
] as const;

export type CustomerDecision = (typeof CUSTOMER_DECISIONS)[number];

export interface CustomerOutcome {
  readonly customerId: string;
  readonly decision: CustomerDecision;
  /** Stable code of the reason, for rejected, failed and dropped customers (for example `E_GATE_BASELINE`). */
  readonly code?: string;
  /** The reason, for people. */
  readonly reason?: string;
  /** The run whose model serves the customer once this run is published; absent when none does. */
  readonly servedRunId?: string;
}

export interface DecisionCounts extends Readonly<Record<CustomerDecision, number>> {
  /** Rejected or failed customers still served by an older model. */
  readonly kept: number;
}

/** Counts per decision; `kept` counts the rejected and failed customers that still have a model to serve. */
export function countDecisions(outcomes: Iterable<CustomerOutcome>): DecisionCounts {
  const counts = { accepted: 0, rejected: 0, failed: 0, unchanged: 0, dropped: 0, kept: 0 };
  for (const outcome of outcomes) {
    counts[outcome.decision] += 1;
    if ((outcome.decision === 'rejected' || outcome.decision === 'failed') && outcome.servedRunId !== undefined) counts.kept += 1;
  }
  return counts;
}
