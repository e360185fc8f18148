import * as policyRuntime from '@pulumi/policy';
import type { PolicyResource } from '@pulumi/policy';

export type ResourceClass = { new (...rest: any[]): unknown; __pulumiType?: string };

/** `UnknownValueError` is exported by @pulumi/policy at run time but stripped from its typings. */
const UnknownValueError = (policyRuntime as unknown as { UnknownValueError: new (...args: never[]) => Error })
  .UnknownValueError;

/**
 * Reads a value that may be unknown during preview; `undefined` when it is. Used only where a policy
 * has another way to decide (property dependencies), so an unknown value must not void the check.
 */
export function readKnown<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return undefined;
    throw error;
  }
}

export function isOfAnyType(resource: PolicyResource, classes: readonly ResourceClass[]): boolean {
  return classes.some((c) => resource.isType(c as never));
}

/** Whether `property` of `resource` was computed from `source` (the engine's property dependencies). */
export function dependsThrough(resource: PolicyResource, property: string, source: PolicyResource): boolean {
  return (resource.propertyDependencies[property] ?? []).some((d) => d.urn === source.urn);
}

/**
 * The companions of `target` among `resources`: resources of one of `classes` whose `property` comes
 * from `target`, through property dependencies, or, when a literal was given, equals one of
 * `target`'s identifying outputs (`identifiers`).
 */
export function companionsOf(
  resources: readonly PolicyResource[],
  target: PolicyResource,
  classes: readonly ResourceClass[],
  property: string,
  identifiers: readonly string[],
): PolicyResource[] {
  const targetIds = identifiers
    .map((key) => readKnown(() => target.props[key] as unknown))
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
  return resources.filter((r) => {
    if (!isOfAnyType(r, classes)) return false;
    if (dependsThrough(r, property, target)) return true;
    const value = readKnown(() => r.props[property] as unknown);
    return typeof value === 'string' && targetIds.includes(value);
  });
}

/** The resources of one of `classes` that `resource.property` was computed from. */
export function sourcesOf(
  resource: PolicyResource,
  property: string,
  classes: readonly ResourceClass[],
): PolicyResource[] {
  return (resource.propertyDependencies[property] ?? []).filter((d) => isOfAnyType(d, classes));
}

/** A resource as reviewers read it in messages. */
export function describe(resource: PolicyResource): string {
  return `${resource.type} "${resource.name}"`;
}
