import type { Policies } from '@pulumi/policy';
import type { AnalyzedResource, Diagnostic } from '../../policies/offline/engine.js';
import { analyzeStackWithPack } from '../../policies/offline/check.js';
import type { PolicyPackConfigFile } from '../../policies/offline/pack-config.js';

/** Diagnostics of `policies` over a fixture stack whose props are both its inputs and outputs. */
export async function diagnosticsOf(
  policies: Policies,
  stack: readonly AnalyzedResource[],
  config?: PolicyPackConfigFile,
): Promise<readonly Diagnostic[]> {
  const analysis = await analyzeStackWithPack(policies, { inputs: stack, outputs: stack }, config ? { config } : {});
  return analysis.diagnostics;
}

export function describeDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => `[${d.enforcementLevel}] ${d.policyName} ${d.urn ?? ''}: ${d.message}`).join('\n');
}
