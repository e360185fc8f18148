import { UNKNOWN, type PlannedResource, type StackPlan } from './plan-stack.js';

export interface RoleGrantSummary {
  /** Logical name of the role. */
  readonly role: string;
  readonly trustedBy: string;
  /** Distinct actions the role's inline policies allow. */
  readonly actions: readonly string[];
  /** Allowed actions containing `*` (expected: none). */
  readonly wildcardActions: readonly string[];
  /** Sids of Allow statements on `Resource: "*"`. */
  readonly starResourceStatements: readonly string[];
  /** False in a preview when a policy document depends on values not known yet. */
  readonly known: boolean;
}

interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

/** The statements of a policy document input; none while the document is unknown (in a preview). */
export function policyStatements(resource: PlannedResource, property = 'policy'): Statement[] {
  const text = resource.inputs[property];
  if (typeof text !== 'string' || text === UNKNOWN) return [];
  const statements = (JSON.parse(text) as { Statement?: Statement | Statement[] }).Statement ?? [];
  return Array.isArray(statements) ? statements : [statements];
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Per role: what it may do, whether any grant is a wildcard, and which statements need `Resource: "*"`. */
export function summarizeRoleGrants(plan: StackPlan): RoleGrantSummary[] {
  const roles = plan.resources.filter((resource) => resource.type === 'aws:iam/role:Role');
  const policies = plan.resources.filter((resource) => resource.type === 'aws:iam/rolePolicy:RolePolicy');
  return roles.map((role) => {
    const attached = policies.filter((policy) => (policy.propertyDependencies['role'] ?? []).includes(role.urn));
    const allows = attached.flatMap((policy) => policyStatements(policy)).filter((statement) => statement.Effect === 'Allow');
    const actions = [...new Set(allows.flatMap((statement) => list(statement.Action)))].sort();
    const trust = policyStatements(role, 'assumeRolePolicy')[0] as { Principal?: { Service?: string } } | undefined;
    return {
      role: role.name,
      trustedBy: trust?.Principal?.Service ?? '?',
      actions,
      wildcardActions: actions.filter((action) => action.includes('*')),
      starResourceStatements: allows.filter((statement) => list(statement.Resource).includes('*')).map((statement) => statement.Sid ?? '?'),
      known: attached.every((policy) => policy.inputs['policy'] !== UNKNOWN),
    };
  });
}
