import type { EnforcementLevel, Policies, Policy } from '@pulumi/policy';

/**
 * A policy pack configuration as `pulumi preview --policy-pack-config FILE` reads it:
 * `{ "all": "mandatory", "<policy>": "advisory" | { "enforcementLevel": …, "<property>": … } }`.
 */
export type PolicyPackConfigFile = Record<string, unknown>;

/** A policy with the enforcement level and configuration the engine would run it with. */
export interface ResolvedPolicy {
  readonly policy: Policy;
  readonly enforcementLevel: EnforcementLevel;
  readonly config: Readonly<Record<string, unknown>>;
}

export class PolicyPackConfigError extends Error {
  override readonly name = 'PolicyPackConfigError';
}

const LEVELS: readonly EnforcementLevel[] = ['advisory', 'mandatory', 'remediate', 'disabled'];

function enforcementLevelOf(value: unknown, key: string): EnforcementLevel {
  if (typeof value === 'string' && (LEVELS as readonly string[]).includes(value)) return value as EnforcementLevel;
  throw new PolicyPackConfigError(`${key}: expected an enforcement level (${LEVELS.join(', ')}), found ${JSON.stringify(value)}`);
}

interface SchemaLike {
  type?: string;
  enum?: unknown[];
  items?: SchemaLike;
  minimum?: number;
  maximum?: number;
}

/** The subset of JSON Schema the pack's config schemas use, checked the way the CLI rejects bad config. */
function checkValue(value: unknown, schema: SchemaLike, key: string): void {
  const fail = (expected: string): never => {
    throw new PolicyPackConfigError(`${key}: expected ${expected}, found ${JSON.stringify(value)}`);
  };
  switch (schema.type) {
    case 'array':
      if (!Array.isArray(value)) fail('an array');
      (value as unknown[]).forEach((item, i) => schema.items && checkValue(item, schema.items, `${key}[${i}]`));
      break;
    case 'string':
      if (typeof value !== 'string') fail('a string');
      break;
    case 'integer':
      if (!Number.isInteger(value)) fail('an integer');
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('a number');
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      break;
    case 'object':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('an object');
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) fail(`one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) fail(`at least ${schema.minimum}`);
  if (typeof value === 'number' && schema.maximum !== undefined && value > schema.maximum) fail(`at most ${schema.maximum}`);
}

/**
 * Each policy's enforcement level and configuration, as the engine computes them: per-policy
 * config, then `all`, then the policy's own level, then the pack's; schema defaults under
 * configured values; values checked against the policy's schema.
 */
export function resolvePolicies(
  policies: Policies,
  packEnforcementLevel: EnforcementLevel,
  file: PolicyPackConfigFile = {},
): ResolvedPolicy[] {
  const names = new Set(policies.map((p) => p.name));
  for (const key of Object.keys(file)) {
    if (key !== 'all' && !names.has(key)) {
      throw new PolicyPackConfigError(`${key}: not a policy of this pack (policies: ${[...names].join(', ')})`);
    }
  }
  const all = file['all'] === undefined ? undefined : enforcementLevelOf(file['all'], 'all');
  return policies.map((policy) => {
    const entry = file[policy.name];
    let ownLevel: EnforcementLevel | undefined;
    let values: Record<string, unknown> = {};
    if (typeof entry === 'string') {
      ownLevel = enforcementLevelOf(entry, policy.name);
    } else if (entry !== undefined) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw new PolicyPackConfigError(`${policy.name}: expected an enforcement level or an object, found ${JSON.stringify(entry)}`);
      }
      const { enforcementLevel, ...rest } = entry as Record<string, unknown>;
      if (enforcementLevel !== undefined) ownLevel = enforcementLevelOf(enforcementLevel, `${policy.name}.enforcementLevel`);
      values = rest;
    }
    const properties = (policy.configSchema?.properties ?? {}) as Record<string, SchemaLike & { default?: unknown }>;
    const config: Record<string, unknown> = {};
    for (const [property, schema] of Object.entries(properties)) {
      if (schema.default !== undefined) config[property] = structuredClone(schema.default);
    }
    for (const [property, value] of Object.entries(values)) {
      const schema = properties[property];
      if (!schema) {
        throw new PolicyPackConfigError(`${policy.name}.${property}: not a setting of this policy (settings: ${Object.keys(properties).join(', ') || 'none'})`);
      }
      checkValue(value, schema, `${policy.name}.${property}`);
      config[property] = value;
    }
    for (const property of policy.configSchema?.required ?? []) {
      if (config[property] === undefined) throw new PolicyPackConfigError(`${policy.name}.${property}: required, found no value`);
    }
    const enforcementLevel = ownLevel ?? all ?? policy.enforcementLevel ?? packEnforcementLevel;
    return { policy, enforcementLevel, config: Object.freeze(config) };
  });
}
