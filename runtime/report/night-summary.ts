import { HOLDOUT_ERROR_MEASURE } from '../config/metric-names.js';
import { CUSTOMER_DECISIONS, type CustomerOutcome, type DecisionCounts } from '../pipeline/decisions.js';
import type { MetricSummary, RunReport } from '../pipeline/report.js';

/**
 * What a person wants to know about one night, taken from its report and the night before's: the
 * steps and their durations, customers by decision, the customers that did not get a new model and
 * why, the holdout error, and what changed since the previous night.
 */

export interface NightSummary {
  readonly runId: string;
  readonly status: RunReport['status'];
  readonly error?: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly steps: readonly { readonly step: string; readonly seconds: number; readonly error?: string }[];
  readonly customers?: number;
  readonly modelsTrained?: number;
  readonly decisions?: DecisionCounts;
  /** Rejected, failed and dropped customers with their reasons. */
  readonly attention: readonly CustomerOutcome[];
  readonly stale: readonly { readonly customerId: string; readonly runId: string; readonly ageDays: number }[];
  readonly quarantine?: RunReport['quarantine'];
  readonly oldestModelAgeDays?: number;
  /** Holdout WAPE over the night's valid models. */
  readonly holdoutError?: MetricSummary;
  readonly beatsSeasonalNaive: number | null;
  readonly previous?: PreviousNight;
}

export interface PreviousNight {
  readonly runId: string;
  readonly status: RunReport['status'];
  readonly seconds: number;
  readonly decisions?: DecisionCounts;
  readonly holdoutError?: MetricSummary;
  readonly beatsSeasonalNaive: number | null;
}

export function summarizeNight(report: RunReport, previous?: RunReport): NightSummary {
  return {
    runId: report.runId,
    status: report.status,
    ...(report.error ? { error: `${report.error.name}: ${report.error.message}` } : {}),
    startedAt: report.startedAt,
    seconds: report.seconds,
    steps: report.steps.map((s) => ({ step: s.step, seconds: s.seconds, ...(s.error ? { error: s.error } : {}) })),
    ...(report.counts ? { customers: report.counts.customers, modelsTrained: report.counts.modelsFound } : {}),
    ...(report.decisions ? { decisions: report.decisions } : {}),
    attention: attentionOutcomes(report),
    stale: report.stale?.customers ?? [],
    ...(report.quarantine ? { quarantine: report.quarantine } : {}),
    ...(report.oldestModelAgeDays !== undefined ? { oldestModelAgeDays: report.oldestModelAgeDays } : {}),
    ...holdout(report),
    beatsSeasonalNaive: report.metrics?.beatsSeasonalNaive ?? null,
    ...(previous
      ? {
          previous: {
            runId: previous.runId,
            status: previous.status,
            seconds: previous.seconds,
            ...(previous.decisions ? { decisions: previous.decisions } : {}),
            ...holdout(previous),
            beatsSeasonalNaive: previous.metrics?.beatsSeasonalNaive ?? null,
          },
        }
      : {}),
  };
}

function holdout(report: RunReport): { holdoutError?: MetricSummary } {
  const summary = report.metrics?.byName[HOLDOUT_ERROR_MEASURE];
  return summary ? { holdoutError: summary } : {};
}

/** The report's rejected, failed and dropped customers; a report without outcomes still lists its invalid models as failed. */
function attentionOutcomes(report: RunReport): CustomerOutcome[] {
  if (report.outcomes) return report.outcomes.filter((o) => o.decision === 'rejected' || o.decision === 'failed' || o.decision === 'dropped');
  return (report.failures ?? []).map((f) => ({ customerId: f.customerId, decision: 'failed' as const, reason: f.reason }));
}

/** The summary as text for a terminal, one section per question. */
export function formatNightText(summary: NightSummary): string {
  const lines: string[] = [];
  const previous = summary.previous;
  lines.push(`Run ${summary.runId}: ${summary.status.toUpperCase()} in ${seconds(summary.seconds)} (started ${summary.startedAt})`);
  if (summary.error) lines.push(`  error: ${summary.error}`);
  lines.push('', 'Steps');
  for (const step of summary.steps) lines.push(`  ${step.step.padEnd(11)} ${seconds(step.seconds).padStart(9)}${step.error ? `  FAILED: ${step.error}` : ''}`);

  lines.push('', 'Customers');
  if (summary.customers !== undefined) lines.push(`  processed ${summary.customers}, models trained ${summary.modelsTrained ?? 0}`);
  if (summary.decisions) {
    const d = summary.decisions;
    for (const decision of [...CUSTOMER_DECISIONS, 'kept'] as const) {
      const change = previous?.decisions ? delta(d[decision] - previous.decisions[decision], 0) : '';
      lines.push(`  ${decision.padEnd(10)} ${String(d[decision]).padStart(6)}${change}`);
    }
  } else if (summary.customers === undefined) {
    lines.push('  none decided: the run stopped before validation');
  }
  if (summary.attention.length > 0) {
    lines.push('', 'Rejected, failed and dropped customers');
    for (const o of summary.attention) lines.push(`  ${o.customerId.padEnd(8)} ${o.decision.padEnd(8)} ${[o.code, o.reason].filter(Boolean).join(' ')}${keptNote(o)}`);
  }
  if (summary.stale.length > 0) {
    lines.push('', 'Stale customers (served by an old model)');
    for (const s of summary.stale) lines.push(`  ${s.customerId.padEnd(8)} model of run ${s.runId}, ${s.ageDays} days old`);
  }
  if (summary.quarantine || summary.oldestModelAgeDays !== undefined) {
    lines.push('', 'Data and models');
    if (summary.quarantine) {
      const q = summary.quarantine;
      lines.push(`  quarantined rows ${q.rows} of ${q.totalRows} (${percent(q.share)})`);
    }
    if (summary.oldestModelAgeDays !== undefined) lines.push(`  oldest served model ${summary.oldestModelAgeDays} days`);
  }

  lines.push('', `Holdout error (${HOLDOUT_ERROR_MEASURE.toUpperCase()} over the night's valid models)`);
  const e = summary.holdoutError;
  if (e) {
    const p = previous?.holdoutError;
    lines.push(`  p50 ${percent(e.median).padStart(8)}${p ? delta((e.median - p.median) * 100, 2, ' pt') : ''}`);
    lines.push(`  p90 ${percent(e.p90).padStart(8)}${p ? delta((e.p90 - p.p90) * 100, 2, ' pt') : ''}`);
    lines.push(`  min ${percent(e.min).padStart(8)}   max ${percent(e.max)}   models ${e.count}`);
  } else {
    lines.push('  no valid models');
  }
  if (summary.beatsSeasonalNaive !== null) lines.push(`  beating seasonal-naive ${percent(summary.beatsSeasonalNaive)}`);

  lines.push('', 'Compared with the previous night');
  if (previous) {
    const change = summary.seconds - previous.seconds;
    lines.push(`  ${previous.runId}: ${previous.status} in ${seconds(previous.seconds)} (this night ${change >= 0 ? '+' : ''}${change.toFixed(1)} s)`);
    if (previous.beatsSeasonalNaive !== null && summary.beatsSeasonalNaive !== null) {
      lines.push(`  beating seasonal-naive ${percent(previous.beatsSeasonalNaive)} then, ${percent(summary.beatsSeasonalNaive)} now`);
    }
  } else {
    lines.push('  no earlier report under reports/');
  }
  return `${lines.join('\n')}\n`;
}

function keptNote(outcome: CustomerOutcome): string {
  if (outcome.decision === 'dropped') return '';
  return outcome.servedRunId ? ` (keeps the model of run ${outcome.servedRunId})` : ' (no model to serve)';
}

function seconds(value: number): string {
  return value >= 120 ? `${(value / 60).toFixed(1)} min` : `${value.toFixed(1)} s`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

function delta(change: number, digits: number, unit = ''): string {
  if (change === 0) return '   (=)';
  return `   (${change > 0 ? '+' : ''}${change.toFixed(digits)}${unit})`;
}
