import type { JobOutcome } from './jobs.js';
import type { PublishOutcome } from './publish.js';
import type { ManifestEntry } from './manifest.js';
import type { RetentionSummary } from './retention.js';
import type { RetrainReason } from './training-plan.js';
import type { ModelFailure } from './validation.js';
import type { CustomerOutcome, DecisionCounts } from './decisions.js';
import type { QuarantineShare, StaleModel } from './stop-rules.js';

/** What one run did, written to `runs/<runId>/report.json` whether it succeeded or not. */

/** A run's steps in the order they run; a step that has nothing to do still appears with its duration. */
export const PIPELINE_STEPS = ['processing', 'training', 'validation', 'gate', 'warming', 'publishing', 'cleanup'] as const;

export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export interface StepReport {
  readonly step: PipelineStep;
  readonly startedAt: string;
  readonly seconds: number;
  readonly jobName?: string;
  readonly attempt?: number;
  readonly outcome?: JobOutcome | PublishOutcome;
  readonly previousFailures?: readonly { jobName: string; status: string; reason: string }[];
  /** Why the step failed; the run stopped there. */
  readonly error?: string;
}

export interface MetricSummary {
  readonly count: number;
  readonly mean: number;
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

export interface RunReport {
  readonly formatVersion: 1;
  readonly runId: string;
  readonly status: 'succeeded' | 'failed';
  /** Why the run failed; `code` is stable (for example `E_TOO_MANY_REJECTED` from `stop-rules.ts`). */
  readonly error?: { readonly name: string; readonly message: string; readonly code?: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly bucket: string;
  readonly endpointName: string;
  readonly steps: readonly StepReport[];
  readonly counts?: {
    readonly customers: number;
    readonly modelsFound: number;
    readonly modelsValid: number;
    readonly modelsInvalid: number;
    readonly sampled: number;
    readonly sampleFailures: number;
    readonly manifestEntries?: number;
    /**
     * Manifest entries carried over from earlier runs: unchanged customers and rejected or failed
     * ones still served by an older model together. `decisions` counts them apart.
     */
    readonly keptPrevious?: number;
  };
  /** Customers whose new model was missing or invalid (they keep their current model). */
  readonly failures?: readonly ModelFailure[];
  /** Holdout metrics over the run's valid models. */
  readonly metrics?: MetricsReport;
  /** What the run decided per customer, counted (absent when the run stopped before the gate). */
  readonly decisions?: DecisionCounts;
  /** Every customer not accepted, with its decision, code and reason. */
  readonly outcomes?: readonly CustomerOutcome[];
  /** Customers served by a model older than `maxModelAgeDays` after this run. */
  readonly stale?: { readonly maxModelAgeDays: number; readonly customers: readonly StaleModel[] };
  readonly oldestModelAgeDays?: number;
  /** Quarantined raw rows of the processing step (its summary). */
  readonly quarantine?: QuarantineShare;
  /** The warm switch: models loaded on the endpoint before the manifest flipped. */
  readonly warm?: { readonly models: number; readonly seconds: number; readonly failures: number };
  /** Raw rows whose value a later drop replaced (the processing summary's `rows.corrected`). */
  readonly corrections?: number;
  /** Who was retrained and why (runtime/pipeline/training-plan.ts). */
  readonly retraining?: {
    readonly fullRetrain: boolean;
    readonly trained: number;
    readonly reasons: Readonly<Record<RetrainReason, number>>;
    /** Customers in the data with no recent row and no model: neither trained nor served. */
    readonly inactive: number;
    /** The data set's newest row, the reference of the drop-after window. */
    readonly newestRow?: string;
    /** The training channel's manifest file, when anything was trained. */
    readonly channel?: string;
  };
  /** What the cleanup step deleted and kept past the retention (runtime/pipeline/retention.ts). */
  readonly cleanup?: RetentionSummary;
}

export interface MetricsReport {
  readonly byName: Readonly<Record<string, MetricSummary>>;
  /** Share of models whose holdout MAE beats repeating the last season; null when none says. */
  readonly beatsSeasonalNaive: number | null;
}

/** Summaries of every numeric metric the valid models carry. */
export function summarizeMetrics(entries: readonly ManifestEntry[]): MetricsReport {
  const byName = new Map<string, number[]>();
  let beats = 0;
  let compared = 0;
  for (const entry of entries) {
    for (const [name, value] of Object.entries(entry.metrics)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      let values = byName.get(name);
      if (values === undefined) byName.set(name, (values = []));
      values.push(value);
    }
    const { mae, seasonalNaiveMae } = entry.metrics;
    if (typeof mae === 'number' && typeof seasonalNaiveMae === 'number') {
      compared += 1;
      if (mae < seasonalNaiveMae) beats += 1;
    }
  }
  const summaries: Record<string, MetricSummary> = {};
  for (const [name, values] of byName) summaries[name] = summarize(values);
  return { byName: summaries, beatsSeasonalNaive: compared > 0 ? round(beats / compared) : null };
}

function summarize(values: number[]): MetricSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return {
    count: sorted.length,
    mean: round(mean),
    median: round(at(0.5)),
    p90: round(at(0.9)),
    min: round(sorted[0] as number),
    max: round(sorted[sorted.length - 1] as number),
  };
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}
