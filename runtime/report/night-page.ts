import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../client/plot.js';
import { CUSTOMER_DECISIONS } from '../pipeline/decisions.js';
import { formatNightText, type NightSummary } from './night-summary.js';

/**
 * One self-contained HTML page for a night: the charts are Vega-Lite specs rendered to inline SVG
 * here, so the page needs no script and no network, and opens from disk or an e-mail attachment.
 */

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const NIGHT_COLORS = { range: ['#4c78a8', '#bab0ac'] };

/** Holdout WAPE per night: min–max as a line, p50–p90 as a bar, the median as a tick. */
export function holdoutErrorSpec(summary: NightSummary): TopLevelSpec | undefined {
  const nights = [
    summary.holdoutError ? { night: `${summary.runId} (this night)`, ...summary.holdoutError } : undefined,
    summary.previous?.holdoutError ? { night: `${summary.previous.runId} (previous)`, ...summary.previous.holdoutError } : undefined,
  ].filter((n) => n !== undefined);
  if (nights.length === 0) return undefined;
  const y = { field: 'night', type: 'nominal', title: null, sort: null } as const;
  const x = { type: 'quantitative', axis: { format: '.1%' }, title: 'holdout WAPE (min–max line, p50–p90 bar, median tick)' } as const;
  return {
    $schema: SCHEMA,
    title: 'Holdout error distribution',
    width: 560,
    data: { values: nights },
    layer: [
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, x: { ...x, field: 'min' }, x2: { field: 'max' } } },
      { mark: { type: 'bar', height: 14, color: '#f58518' }, encoding: { y, x: { ...x, field: 'median' }, x2: { field: 'p90' } } },
      { mark: { type: 'tick', thickness: 3, color: '#222' }, encoding: { y, x: { ...x, field: 'median' } } },
    ],
  };
}

/** Customers per decision, this night beside the previous one. */
export function decisionsSpec(summary: NightSummary): TopLevelSpec | undefined {
  if (!summary.decisions) return undefined;
  const rows = [...CUSTOMER_DECISIONS, 'kept' as const].flatMap((decision) => [
    { decision, night: 'this night', customers: summary.decisions?.[decision] ?? 0 },
    ...(summary.previous?.decisions ? [{ decision, night: 'previous', customers: summary.previous.decisions[decision] }] : []),
  ]);
  return {
    $schema: SCHEMA,
    title: 'Customers by decision',
    width: 560,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'decision', type: 'nominal', sort: null, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'night', sort: ['this night', 'previous'] },
      y: { field: 'customers', type: 'quantitative', title: 'customers' },
      color: { field: 'night', type: 'nominal', sort: ['this night', 'previous'], scale: NIGHT_COLORS, title: null },
    },
  };
}

/** Seconds per step; a failed step in red. */
export function stepsSpec(summary: NightSummary): TopLevelSpec | undefined {
  if (summary.steps.length === 0) return undefined;
  return {
    $schema: SCHEMA,
    title: 'Step durations',
    width: 560,
    data: { values: summary.steps.map((s) => ({ step: s.step, seconds: s.seconds, result: s.error ? 'failed' : 'done' })) },
    mark: 'bar',
    encoding: {
      y: { field: 'step', type: 'nominal', sort: null, title: null },
      x: { field: 'seconds', type: 'quantitative', title: 'seconds' },
      color: { field: 'result', type: 'nominal', scale: { domain: ['done', 'failed'], range: ['#4c78a8', '#e45756'] }, title: null },
    },
  };
}

export async function nightPageHtml(summary: NightSummary): Promise<string> {
  const specs = [holdoutErrorSpec(summary), decisionsSpec(summary), stepsSpec(summary)].filter((s) => s !== undefined);
  const charts: string[] = [];
  for (const spec of specs) charts.push(`<figure>${await renderSvg(spec)}</figure>`);
  const rows = summary.attention
    .map((o) => `<tr><td>${escape(o.customerId)}</td><td>${o.decision}</td><td>${escape(o.code ?? '')}</td><td>${escape(o.reason ?? '')}</td></tr>`)
    .join('\n');
  const title = `Run ${summary.runId}: ${summary.status}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1280px; color: #222; }
h1 .failed { color: #c0392b; } h1 .succeeded { color: #2e7d32; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; }
</style>
</head>
<body>
<h1>Run ${escape(summary.runId)}: <span class="${summary.status}">${summary.status}</span></h1>
<div class="charts">
${charts.join('\n')}
</div>
${rows ? `<h2>Rejected, failed and dropped customers</h2>\n<table><tr><th>customer</th><th>decision</th><th>code</th><th>reason</th></tr>\n${rows}\n</table>` : ''}
<h2>Report</h2>
<pre>${escape(formatNightText(summary))}</pre>
</body>
</html>
`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
