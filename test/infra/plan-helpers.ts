import type { PlannedResource, StackPlan } from '../../infra/plan/plan-stack.js';
import { policyStatements } from '../../infra/plan/iam-summary.js';

export interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export function ofType(plan: StackPlan, type: string): PlannedResource[] {
  return plan.resources.filter((resource) => resource.type === type);
}

/** The one resource of a type (and name), failing clearly when there is none or more than one. */
export function one(plan: StackPlan, type: string, name?: string): PlannedResource {
  const matches = ofType(plan, type).filter((resource) => name === undefined || resource.name === name);
  if (matches.length !== 1) throw new Error(`expected one ${type}${name === undefined ? '' : ` named ${name}`}, found ${matches.length}`);
  return matches[0] as PlannedResource;
}

export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export function statementsOf(resource: PlannedResource, property = 'policy'): Statement[] {
  return policyStatements(resource, property) as Statement[];
}

/** The inline policy statements of the role with this logical name. */
export function roleStatements(plan: StackPlan, roleName: string): Statement[] {
  const role = one(plan, 'aws:iam/role:Role', roleName);
  return ofType(plan, 'aws:iam/rolePolicy:RolePolicy')
    .filter((policy) => (policy.propertyDependencies['role'] ?? []).includes(role.urn))
    .flatMap((policy) => statementsOf(policy));
}

export const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM's ARN wildcards: `*` any run of characters, `?` one character. */
export function arnMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(arn);
}

/** The Allow statements that grant `action` on `resource` (conditions are checked by the caller). */
export function grants(statements: readonly Statement[], action: string, resource: string): Statement[] {
  return statements.filter(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).includes(action) &&
      list(statement.Resource).some((pattern) => arnMatches(pattern, resource)),
  );
}

/** An S3 URI as the object ARN of a key under it. */
export function objectArn(uri: string, name = 'object'): string {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (match === null) throw new Error(`not an S3 URI: ${uri}`);
  return `arn:aws:s3:::${match[1]}/${match[2]}${name}`;
}

/** The pipeline container of the planned task definition. */
export function pipelineContainer(plan: StackPlan): Record<string, unknown> {
  const task = one(plan, 'aws:ecs/taskDefinition:TaskDefinition');
  return (JSON.parse(task.inputs['containerDefinitions'] as string) as Record<string, unknown>[])[0] as Record<string, unknown>;
}

/** The environment one scheduled run sees: the task definition's plus the schedule's overrides. */
export function scheduledRunEnvironment(plan: StackPlan, scheduledTime: string): Record<string, string> {
  const container = pipelineContainer(plan);
  const environment = Object.fromEntries((container['environment'] as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  const schedule = one(plan, 'aws:scheduler/schedule:Schedule');
  const overrides = JSON.parse(at(schedule.inputs, 'target', 'input') as string) as {
    containerOverrides: { name: string; environment: { name: string; value: string }[] }[];
  };
  for (const override of overrides.containerOverrides.filter((o) => o.name === container['name'])) {
    for (const entry of override.environment) environment[entry.name] = entry.value.replace('<aws.scheduler.scheduled-time>', scheduledTime);
  }
  return environment;
}
