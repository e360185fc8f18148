import type { CustomerOutcome } from '../../../runtime/pipeline/decisions.js';
import { countDecisions } from '../../../runtime/pipeline/decisions.js';
import { PIPELINE_STEPS, type RunReport, type StepReport } from '../../../runtime/pipeline/report.js';

/**
 * Three nights as the pipeline reports them: a good one, a degraded one (a customer rejected, one
 * failed, one dropped, one stale, rows quarantined) and one that failed in training. Times are
 * recent, as CloudWatch only takes metric timestamps from the last two weeks.
 */

const HOUR = 3_600_000;

function steps(start: number, seconds: readonly number[], failedAt?: number): StepReport[] {
  let at = start;
  const result: StepReport[] = [];
  for (const [i, step] of PIPELINE_STEPS.entries()) {
    if (failedAt !== undefined && i > failedAt) break;
    const took = seconds[i] ?? 1;
    result.push({ step, startedAt: new Date(at).toISOString(), seconds: took, ...(i === failedAt ? { error: 'Training job forecast-x-train failed: AlgorithmError: out of memory' } : {}) });
    at += took * 1000;
  }
  return result;
}

function night(runId: string, start: number, seconds: number, fields: Partial<RunReport>): RunReport {
  return {
    formatVersion: 1,
    runId,
    status: 'succeeded',
    startedAt: new Date(start).toISOString(),
    finishedAt: new Date(start + seconds * 1000).toISOString(),
    seconds,
    bucket: 'forecast-test',
    endpointName: 'forecast-test',
    steps: [],
    ...fields,
  };
}

function summary(values: { median: number; p90: number; min: number; max: number }, count: number) {
  return { count, mean: (values.median + values.p90) / 2, ...values };
}

export function goodNight(now = Date.now()): RunReport {
  const start = now - 26 * HOUR;
  const outcomes: CustomerOutcome[] = [];
  return night('20261127-0200', start, 60, {
    steps: steps(start, [12, 30, 5, 2, 4, 1, 1]),
    counts: { customers: 4, modelsFound: 4, modelsValid: 4, modelsInvalid: 0, sampled: 4, sampleFailures: 0, manifestEntries: 4, keptPrevious: 0 },
    failures: [],
    metrics: {
      byName: { wape: summary({ median: 0.021, p90: 0.034, min: 0.012, max: 0.04 }, 4), mae: summary({ median: 1.2, p90: 2.1, min: 0.8, max: 2.4 }, 4) },
      beatsSeasonalNaive: 1,
    },
    decisions: { ...countDecisions(outcomes), accepted: 4 },
    outcomes,
    stale: { maxModelAgeDays: 7, customers: [] },
    oldestModelAgeDays: 0,
    quarantine: { rows: 0, totalRows: 1460, share: 0 },
  });
}

export function degradedNight(now = Date.now()): RunReport {
  const start = now - 2 * HOUR;
  const outcomes: CustomerOutcome[] = [
    { customerId: '1', decision: 'rejected', code: 'E_GATE_BASELINE', reason: 'holdout MAE 3.1 is 40% worse than seasonal-naive 2.2 (tolerance 25%)', servedRunId: '20261127-0200' },
    { customerId: '2', decision: 'failed', code: 'E_MODEL_MISSING', reason: 'no model was written for this customer' },
    { customerId: '3', decision: 'dropped', code: 'E_NO_RECENT_DATA', reason: 'no rows in the last 90 days' },
    { customerId: '0', decision: 'accepted', servedRunId: '20261128-0200' },
    { customerId: '4', decision: 'accepted', servedRunId: '20261128-0200' },
  ];
  return night('20261128-0200', start, 75, {
    steps: steps(start, [14, 41, 6, 3, 5, 1, 2]),
    counts: { customers: 5, modelsFound: 4, modelsValid: 4, modelsInvalid: 1, sampled: 4, sampleFailures: 0, manifestEntries: 4, keptPrevious: 1 },
    failures: [{ customerId: '2', code: 'E_MODEL_MISSING', reason: 'no model was written for this customer' }],
    metrics: {
      byName: { wape: summary({ median: 0.048, p90: 0.12, min: 0.02, max: 0.15 }, 4), mae: summary({ median: 2.9, p90: 3.3, min: 1, max: 3.4 }, 4) },
      beatsSeasonalNaive: 0.5,
    },
    decisions: countDecisions(outcomes),
    outcomes: outcomes.filter((o) => o.decision !== 'accepted'),
    stale: { maxModelAgeDays: 7, customers: [{ customerId: '1', runId: '20261120-0200', ageDays: 8 }] },
    oldestModelAgeDays: 8,
    quarantine: { rows: 12, totalRows: 1800, share: 12 / 1800 },
  });
}

export function failedNight(now = Date.now()): RunReport {
  const start = now - HOUR;
  const run = steps(start, [13, 20], 1);
  return night('20261129-0200', start, 33, {
    status: 'failed',
    error: { name: 'JobFailedError', message: 'Training job forecast-x-train failed: AlgorithmError: out of memory' },
    steps: run,
  });
}
