import type { PolicyProviderResource } from '@pulumi/policy';
import type { PlannedResource } from '../../infra/plan/plan-stack.js';
import type { AnalyzedResource } from './engine.js';
import type { StackToAnalyze } from './check.js';

/**
 * The planned stack (infra/plan/plan-stack.ts: the program under mocks) as the engine sends it to
 * the analyzer: inputs to resource policies, outputs to stack policies, each resource with its
 * provider's inputs. Unknown values already carry the engine's sentinel, which the analyzer's
 * proxy recognises.
 */

/** `<provider urn>::<provider id>` → the provider's URN. */
function providerUrn(reference: string): string {
  const at = reference.lastIndexOf('::');
  return at === -1 ? reference : reference.slice(0, at);
}

/**
 * The default provider the engine would create for an `aws:` resource without an explicit one:
 * its inputs are the stack's `aws:*` config values.
 */
export function defaultAwsProvider(config: Readonly<Record<string, string>>, stackUrnPrefix: string): PolicyProviderResource {
  const props = Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith('aws:'))
      .map(([key, value]) => [key.slice('aws:'.length), value]),
  );
  return { type: 'pulumi:providers:aws', name: 'default', urn: `${stackUrnPrefix}::pulumi:providers:aws::default`, props };
}

function stackUrnPrefix(resources: readonly PlannedResource[]): string {
  const first = resources[0]?.urn ?? 'urn:pulumi:stack::project';
  return first.split('::').slice(0, 2).join('::');
}

export function stackFromPlan(resources: readonly PlannedResource[], config: Readonly<Record<string, string>> = {}): StackToAnalyze {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const fallback = defaultAwsProvider(config, stackUrnPrefix(resources));
  const providerOf = (r: PlannedResource): PolicyProviderResource | undefined => {
    if (r.provider !== undefined) {
      const provider = byUrn.get(providerUrn(r.provider));
      if (provider) return { type: provider.type, name: provider.name, urn: provider.urn, props: provider.inputs };
    }
    return r.custom && r.type.startsWith('aws:') ? fallback : undefined;
  };
  const toAnalyzed = (r: PlannedResource, props: Record<string, unknown>): AnalyzedResource => {
    const provider = providerOf(r);
    return {
      urn: r.urn,
      type: r.type,
      name: r.name,
      props,
      dependencies: r.dependencies,
      propertyDependencies: r.propertyDependencies,
      ...(r.parent === undefined ? {} : { parent: r.parent, opts: { parent: r.parent } }),
      ...(provider === undefined ? {} : { provider }),
    };
  };
  // The root stack resource carries the program's outputs, not a cloud resource.
  const analyzed = resources.filter((r) => r.type !== 'pulumi:pulumi:Stack');
  return {
    inputs: analyzed.map((r) => toAnalyzed(r, r.inputs)),
    outputs: analyzed.map((r) => toAnalyzed(r, r.outputs)),
  };
}
