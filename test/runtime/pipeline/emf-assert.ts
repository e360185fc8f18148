import type { ExecutionContext } from 'ava';

/** One EMF record read back the way CloudWatch Logs reads it: the directive, then the values it names. */
export interface ParsedEmf {
  readonly namespace: string;
  readonly dimensions: Record<string, string>;
  readonly timestamp: number;
  readonly values: Record<string, number>;
  readonly units: Record<string, string>;
  readonly properties: Record<string, unknown>;
}

/** Parses one line, asserting the `_aws.CloudWatchMetrics` directive's shape (namespace, one dimension set, metric definitions). */
export function parseEmfLine(t: ExecutionContext, line: string): ParsedEmf {
  const record = JSON.parse(line) as Record<string, unknown> & {
    _aws?: { Timestamp?: unknown; CloudWatchMetrics?: { Namespace?: unknown; Dimensions?: unknown; Metrics?: { Name: string; Unit?: string }[] }[] };
  };
  const directive = record._aws?.CloudWatchMetrics;
  t.true(Array.isArray(directive) && directive.length === 1, `no CloudWatchMetrics directive in ${line}`);
  const [entry] = directive ?? [];
  t.is(typeof entry?.Namespace, 'string');
  t.is(typeof record._aws?.Timestamp, 'number');
  const dimensionSets = entry?.Dimensions as string[][];
  t.true(Array.isArray(dimensionSets) && dimensionSets.length === 1);
  const dimensions: Record<string, string> = {};
  for (const name of dimensionSets[0] ?? []) {
    t.is(typeof record[name], 'string', `dimension ${name} has no string value`);
    dimensions[name] = record[name] as string;
  }
  const values: Record<string, number> = {};
  const units: Record<string, string> = {};
  t.true((entry?.Metrics ?? []).length > 0);
  for (const metric of entry?.Metrics ?? []) {
    t.is(typeof record[metric.Name], 'number', `metric ${metric.Name} has no number value`);
    values[metric.Name] = record[metric.Name] as number;
    units[metric.Name] = metric.Unit ?? 'None';
  }
  const named = new Set(['_aws', ...Object.keys(dimensions), ...Object.keys(values)]);
  const properties = Object.fromEntries(Object.entries(record).filter(([key]) => !named.has(key)));
  return { namespace: entry?.Namespace as string, dimensions, timestamp: record._aws?.Timestamp as number, values, units, properties };
}
