import type { EnforcementLevel, Policies } from '@pulumi/policy';
import type { AnalyzedResource, Diagnostic, PackIdentity } from './engine.js';
import { analyzeResource, analyzeStack } from './engine.js';
import type { PolicyPackConfigFile } from './pack-config.js';
import { resolvePolicies } from './pack-config.js';

export interface StackAnalysis {
  /** Resource policies over each resource's inputs, then stack policies over their outputs. */
  readonly diagnostics: readonly Diagnostic[];
  readonly resourceCount: number;
  readonly policyCount: number;
  readonly mandatory: number;
  readonly advisory: number;
}

export interface StackToAnalyze {
  /** Resources with their inputs, for resource policies. */
  readonly inputs: readonly AnalyzedResource[];
  /** The same resources with their outputs, for stack policies. */
  readonly outputs: readonly AnalyzedResource[];
}

/** Runs the pack over a stack as `pulumi preview --policy-pack` would, with an optional pack config. */
export async function analyzeStackWithPack(
  policies: Policies,
  stack: StackToAnalyze,
  options: { packEnforcementLevel?: EnforcementLevel; config?: PolicyPackConfigFile; pack?: PackIdentity } = {},
): Promise<StackAnalysis> {
  const resolved = resolvePolicies(policies, options.packEnforcementLevel ?? 'advisory', options.config);
  const diagnostics: Diagnostic[] = [];
  for (const resource of stack.inputs) diagnostics.push(...(await analyzeResource(resolved, resource, options.pack)).diagnostics);
  diagnostics.push(...(await analyzeStack(resolved, stack.outputs, options.pack)).diagnostics);
  return {
    diagnostics,
    resourceCount: stack.inputs.length,
    policyCount: resolved.filter((r) => r.enforcementLevel !== 'disabled').length,
    mandatory: diagnostics.filter((d) => d.enforcementLevel === 'mandatory').length,
    advisory: diagnostics.filter((d) => d.enforcementLevel === 'advisory').length,
  };
}
