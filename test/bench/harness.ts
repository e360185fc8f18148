import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/**
 * The one interface between a benchmark and `npm run bench` (test/bench/run.ts). A benchmark is a
 * `test/bench/<name>.bench.ts` script; the runner starts it as
 *
 *   node --import tsx test/bench/<name>.bench.ts --bench-report <file.json> [--quick] [--reps N]
 *
 * and reads back a `BenchReport`. Call `benchOptions` to parse those flags beside your own, time
 * each figure `reps` times (`repeat`), and end with `finishBench`, which writes the report for the
 * runner or, run by hand, prints the same table. Figures are raw samples; the runner takes the
 * median, min and max and the ratio to the baseline figure named in `baseline`.
 */

export interface Figure {
  /** What was measured, e.g. "training, noisy weekly: customers/s per core". */
  name: string;
  unit: string;
  /** One value per repetition (at least 3 unless `--reps` says otherwise). */
  samples: number[];
  /** Whether a larger value is better (throughput) or worse (time). */
  better: 'higher' | 'lower';
  /** Name of the figure in the same report this one is compared with (same run, same data). */
  baseline?: string;
  /** The target, as text, e.g. "≥ 10× R prophet". */
  target?: string;
}

export interface BenchReport {
  bench: string;
  figures: Figure[];
  /** Anything the reader needs: data sizes, what was skipped and why. */
  notes: string[];
}

export interface BenchFlags {
  quick: boolean;
  reps: number;
  report: string | undefined;
}

/** Parses the runner's flags (`--quick`, `--reps`, `--bench-report`) together with the bench's own. */
export function benchOptions(options: NonNullable<ParseArgsConfig['options']>): { flags: BenchFlags; values: Record<string, string | boolean | undefined> } {
  const { values } = parseArgs({
    options: {
      ...options,
      quick: { type: 'boolean', default: false },
      reps: { type: 'string', default: '3' },
      'bench-report': { type: 'string' },
    },
    strict: true,
  }) as { values: Record<string, string | boolean | undefined> };
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${String(values.reps)}`);
  const flags: BenchFlags = { quick: values.quick === true, reps, report: values['bench-report'] as string | undefined };
  return { flags, values };
}

/** Runs `fn` `reps` times, one after another, and returns its results in order. */
export async function repeat<T>(reps: number, fn: (rep: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let rep = 0; rep < reps; rep++) results.push(await fn(rep));
  return results;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface FigureSummary extends Figure {
  median: number;
  min: number;
  max: number;
  /** median / baseline's median, when there is a baseline. */
  ratio?: number;
}

export function summarize(report: BenchReport): FigureSummary[] {
  const medians = new Map(report.figures.map((f) => [f.name, median(f.samples)]));
  return report.figures.map((f) => {
    const m = median(f.samples);
    const base = f.baseline === undefined ? undefined : medians.get(f.baseline);
    return { ...f, median: m, min: Math.min(...f.samples), max: Math.max(...f.samples), ...(base ? { ratio: m / base } : {}) };
  });
}

function format(value: number): string {
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** Markdown rows (no header) for one report. */
export function tableRows(report: BenchReport): string[] {
  return summarize(report).map(
    (f) =>
      `| ${report.bench} | ${f.name} | ${format(f.median)} ${f.unit} | ${format(f.min)} – ${format(f.max)} | ${f.samples.length} | ` +
      `${f.ratio === undefined ? '' : `${format(f.ratio)}× ${f.baseline}`} | ${f.target ?? ''} |`,
  );
}

export const TABLE_HEADER = ['| bench | figure | median | min – max | reps | vs baseline (same run) | target |', '|---|---|---|---|---|---|---|'];

export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

/** Writes the report for the runner, or prints it as a table when run by hand. */
export function finishBench(flags: BenchFlags, report: BenchReport): void {
  if (flags.report) {
    mkdirSync(path.dirname(flags.report), { recursive: true });
    writeFileSync(flags.report, `${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  console.log([...TABLE_HEADER, ...tableRows(report)].join('\n'));
  for (const note of report.notes) console.log(`- ${note}`);
  console.log(`load average: ${loadAverage()}`);
}
