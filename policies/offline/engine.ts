import type {
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from '@pulumi/policy';
import type { ResolvedPolicy } from './pack-config.js';
import { UnknownValueError, unknownCheckingProxy } from './policy-runtime.js';

/**
 * Runs a policy pack over resources the way the CrossGuard analyzer server (@pulumi/policy
 * server.js) does, without the gRPC server `new PolicyPack` starts: props wrapped in the
 * unknown-checking proxy, each validation in its own try, NotApplicable and unknown values
 * caught per validation, violations at the policy's resolved level.
 */

/** A resource as the engine sends it to the analyzer. */
export interface AnalyzedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Inputs (resource policies) or outputs (stack policies); unknown values as the engine's sentinel. */
  readonly props: Record<string, unknown>;
  readonly opts?: Partial<PolicyResourceOptions>;
  readonly parent?: string;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly provider?: PolicyProviderResource;
}

export type ReportedLevel = 'advisory' | 'mandatory';

export interface Diagnostic {
  readonly policyName: string;
  readonly enforcementLevel: ReportedLevel;
  readonly message: string;
  /** The resource the violation is about: the analyzed one, or the URN a stack policy named. */
  readonly urn: string | undefined;
  /** True for "can't run during preview" (an unknown value was read), which the engine reports as advisory. */
  readonly unknownDuringPreview: boolean;
}

export interface NotApplicable {
  readonly policyName: string;
  readonly reason: string | undefined;
}

/** The pack's name and version, as the server names them in "can't run during preview" messages. */
export interface PackIdentity {
  readonly name: string;
  readonly version: string;
}

export interface AnalysisResult {
  readonly diagnostics: Diagnostic[];
  readonly notApplicable: NotApplicable[];
}

export class NotApplicableError extends Error {
  override readonly name = 'NotApplicableError';
  constructor(readonly reason: string | undefined) {
    super(reason ?? 'Policy does not apply');
  }
}

/** A policy threw something other than NotApplicable or an unknown value: the engine fails the run. */
export class PolicyExecutionError extends Error {
  override readonly name = 'PolicyExecutionError';
}

const throwNotApplicable = (reason?: string): never => {
  throw new NotApplicableError(reason);
};

type ResourceClass = { __pulumiType?: unknown; isInstance?: (o: unknown) => boolean };

function isTypeOf(type: string, resourceClass: ResourceClass): boolean {
  if (typeof resourceClass.__pulumiType === 'string' && resourceClass.__pulumiType.length > 0) {
    return type === resourceClass.__pulumiType;
  }
  return typeof resourceClass.isInstance === 'function' && resourceClass.isInstance({ __pulumiType: type }) === true;
}

function optionsOf(opts: Partial<PolicyResourceOptions> | undefined): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...opts,
  };
}

/**
 * Props as they arrive over gRPC (a protobuf Struct): a fresh copy, keys with undefined values
 * absent (so `'key' in props` means what it means in the engine), undefined array items null.
 */
function overTheWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : overTheWire(item)));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) copy[key] = overTheWire(item);
  return copy;
}

function propsOf(props: Record<string, unknown>): Record<string, any> {
  return unknownCheckingProxy(overTheWire(props) as Record<string, unknown>);
}

function providerOf(resource: AnalyzedResource): PolicyProviderResource | undefined {
  if (!resource.provider) return undefined;
  return { ...resource.provider, props: propsOf(resource.provider.props) };
}

function isResourcePolicy(policy: ResolvedPolicy['policy']): policy is ResourceValidationPolicy {
  const validation = (policy as ResourceValidationPolicy).validateResource;
  return typeof validation === 'function' || Array.isArray(validation);
}

function isStackPolicy(policy: ResolvedPolicy['policy']): policy is StackValidationPolicy {
  return typeof (policy as StackValidationPolicy).validateStack === 'function';
}

function typeOfValidation(validation: unknown): string | undefined {
  const type = (validation as { __pulumiType?: unknown }).__pulumiType;
  return typeof type === 'string' && type.length > 0 ? type : undefined;
}

/** The level a violation is reported at: remediate is downgraded to mandatory when a violation remains. */
function reportedLevel(level: ResolvedPolicy['enforcementLevel']): ReportedLevel {
  return level === 'advisory' ? 'advisory' : 'mandatory';
}

function reporter(resolved: ResolvedPolicy, defaultUrn: string | undefined, into: Diagnostic[]): ReportViolation {
  return (message: string, urn?: string) => {
    into.push({
      policyName: resolved.policy.name,
      enforcementLevel: reportedLevel(resolved.enforcementLevel),
      message: message ? `${resolved.policy.description}\n${message}` : resolved.policy.description,
      urn: urn ?? defaultUrn,
      unknownDuringPreview: false,
    });
  };
}

/** Sorts out what one validation threw, as server.js does. */
function settle(
  error: unknown,
  resolved: ResolvedPolicy,
  urn: string | undefined,
  result: AnalysisResult,
  pack: PackIdentity | undefined,
): void {
  const from = `policy '${resolved.policy.name}'${pack ? ` from policy pack '${pack.name}@v${pack.version}'` : ''}`;
  if (error instanceof UnknownValueError) {
    result.diagnostics.push({
      policyName: resolved.policy.name,
      enforcementLevel: 'advisory',
      message: `can't run ${from} during preview: ${error.message}`,
      urn,
      unknownDuringPreview: true,
    });
  } else if (error instanceof NotApplicableError) {
    result.notApplicable.push({ policyName: resolved.policy.name, reason: error.reason });
  } else {
    const cause = error instanceof Error ? error.message : String(error);
    throw new PolicyExecutionError(`Error validating ${urn ?? 'the stack'} with ${from}: ${cause}`, { cause: error });
  }
}

/** Every enabled resource policy over one resource (its inputs). */
export async function analyzeResource(
  policies: readonly ResolvedPolicy[],
  resource: AnalyzedResource,
  pack?: PackIdentity,
): Promise<AnalysisResult> {
  const result: AnalysisResult = { diagnostics: [], notApplicable: [] };
  for (const resolved of policies) {
    const { policy } = resolved;
    if (resolved.enforcementLevel === 'disabled' || !isResourcePolicy(policy) || !policy.validateResource) continue;
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    // The server's shortcut: a single typed validation is skipped for other types without running it.
    if (!Array.isArray(policy.validateResource)) {
      const type = typeOfValidation(policy.validateResource);
      if (type !== undefined && type !== resource.type) {
        result.notApplicable.push({ policyName: policy.name, reason: `Policy only applies to resources of type '${type}'` });
        continue;
      }
    }
    const report = reporter(resolved, resource.urn, result.diagnostics);
    for (const validation of validations) {
      try {
        // A fresh copy per validation, as the server deserializes the request once per validation.
        const props = propsOf(resource.props);
        const provider = providerOf(resource);
        const args: ResourceValidationArgs = {
          type: resource.type,
          props,
          urn: resource.urn,
          name: resource.name,
          opts: optionsOf(resource.opts),
          stackTags: new Map(),
          isType: (cls) => isTypeOf(resource.type, cls as ResourceClass),
          asType: ((cls: ResourceClass) => (isTypeOf(resource.type, cls) ? props : undefined)) as ResourceValidationArgs['asType'],
          getConfig: <T extends object>() => structuredClone(resolved.config) as T,
          notApplicable: throwNotApplicable,
          ...(provider ? { provider } : {}),
        };
        await validation(args, report);
      } catch (error) {
        settle(error, resolved, resource.urn, result, pack);
      }
    }
  }
  return result;
}

/** `PolicyResource`s with parent, dependencies and property dependencies resolved to one another. */
export function policyResources(resources: readonly AnalyzedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const built = resources.map((r) => {
    const props = propsOf(r.props);
    const provider = providerOf(r);
    const resource: PolicyResource = {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: optionsOf(r.opts),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => isTypeOf(r.type, cls as ResourceClass),
      asType: ((cls: ResourceClass) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource['asType'],
      ...(provider ? { provider } : {}),
    };
    byUrn.set(r.urn, resource);
    return resource;
  });
  resources.forEach((r, i) => {
    const resource = built[i]!;
    const parent = r.parent === undefined ? undefined : byUrn.get(r.parent);
    if (parent) resource.parent = parent;
    resource.dependencies = r.dependencies.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    for (const [property, urns] of Object.entries(r.propertyDependencies)) {
      resource.propertyDependencies[property] = urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    }
  });
  return built;
}

/** Every enabled stack policy over all resources (their outputs). */
export async function analyzeStack(
  policies: readonly ResolvedPolicy[],
  resources: readonly AnalyzedResource[],
  pack?: PackIdentity,
): Promise<AnalysisResult> {
  const result: AnalysisResult = { diagnostics: [], notApplicable: [] };
  for (const resolved of policies) {
    const { policy } = resolved;
    if (resolved.enforcementLevel === 'disabled' || !isStackPolicy(policy)) continue;
    const type = typeOfValidation(policy.validateStack);
    if (type !== undefined && !resources.some((r) => r.type === type)) {
      result.notApplicable.push({ policyName: policy.name, reason: `Policy only applies to resources of type '${type}'` });
      continue;
    }
    const report = reporter(resolved, undefined, result.diagnostics);
    try {
      const args: StackValidationArgs = {
        resources: policyResources(resources),
        stackTags: new Map(),
        getConfig: <T extends object>() => structuredClone(resolved.config) as T,
        notApplicable: throwNotApplicable,
      };
      await policy.validateStack(args, report);
    } catch (error) {
      settle(error, resolved, undefined, result, pack);
    }
  }
  return result;
}
