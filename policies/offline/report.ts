import type { StackAnalysis } from './check.js';
import type { Diagnostic } from './engine.js';

export interface ReportContext {
  readonly packName: string;
  readonly packVersion: string;
  readonly project: string;
  readonly stack: string;
  readonly preview: boolean;
  /** Policy name → its remediation hint, printed under each violation. */
  readonly remediation: ReadonlyMap<string, string>;
}

/** `urn:pulumi:dev::proj::parent$aws:s3/bucket:Bucket::storage-bucket` → type and name. */
function typeAndName(urn: string): { type: string; name: string } {
  const parts = urn.split('::');
  const name = parts.slice(3).join('::');
  const type = parts[2]?.split('$').pop() ?? '';
  return { type, name };
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => `${prefix}${line}`).join('\n');
}

function renderDiagnostic(d: Diagnostic, remediation: string | undefined): string {
  const [description = '', ...details] = d.message.split('\n');
  const head = `  ${d.enforcementLevel.padEnd(9)}  ${d.policyName}`;
  const body = d.unknownDuringPreview
    ? [description]
    : [...details, `why: ${description}`, ...(remediation ? [`fix: ${remediation}`] : [])];
  return [head, indent(body.join('\n'), ' '.repeat(13))].join('\n');
}

/**
 * The violations grouped by resource, mandatory first, then a summary line. Text for people: the
 * policy name, its level, what was expected and found, and the policy's intent in brackets.
 */
export function renderReport(analysis: StackAnalysis, context: ReportContext, seconds: { plan: number; policies: number }): string {
  const lines: string[] = [];
  const mode = context.preview ? 'preview: values AWS assigns are unknown' : 'update: every value known';
  lines.push(`Policy pack ${context.packName}@${context.packVersion} on stack ${context.project}/${context.stack}: ${analysis.resourceCount} resources, ${analysis.policyCount} policies (${mode})`);
  const groups = new Map<string, Diagnostic[]>();
  for (const d of analysis.diagnostics) {
    const key = d.urn ?? '';
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const rank = (ds: Diagnostic[]) => (ds.some((d) => d.enforcementLevel === 'mandatory') ? 0 : 1);
  const ordered = [...groups.entries()].sort(([a, da], [b, db]) => rank(da) - rank(db) || a.localeCompare(b));
  for (const [urn, diagnostics] of ordered) {
    const { type, name } = urn === '' ? { type: '(stack)', name: '' } : typeAndName(urn);
    lines.push('', `${type}  ${name}`.trimEnd());
    const sorted = [...diagnostics].sort((a, b) => (a.enforcementLevel === b.enforcementLevel ? 0 : a.enforcementLevel === 'mandatory' ? -1 : 1));
    for (const d of sorted) lines.push(renderDiagnostic(d, context.remediation.get(d.policyName)));
  }
  const unknown = analysis.diagnostics.filter((d) => d.unknownDuringPreview).length;
  const violations = analysis.diagnostics.length - unknown;
  const verdict = analysis.mandatory > 0 ? 'FAILED: mandatory violations block this change' : 'passed: no mandatory violation';
  lines.push(
    '',
    `${analysis.mandatory} mandatory, ${violations - analysis.mandatory} advisory violations${unknown > 0 ? `, ${unknown} checks that can't run during preview` : ''} in ${groups.size} resources.`,
    `Policy check ${verdict} (plan ${seconds.plan.toFixed(1)} s, policies ${seconds.policies.toFixed(2)} s).`,
  );
  return lines.join('\n');
}
