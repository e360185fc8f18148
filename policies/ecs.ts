import * as aws from '@pulumi/aws';
import type { ReportViolation, ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';

/** The fields of an ECS container definition these policies read. */
interface ContainerDefinition {
  name?: string;
  privileged?: boolean;
  user?: string;
  logConfiguration?: { logDriver?: string; options?: Record<string, string> };
}

/** A task definition's `containerDefinitions` is JSON text; a malformed one is a violation of its own. */
function containersOf(definitions: string, reportViolation: ReportViolation): ContainerDefinition[] | undefined {
  try {
    const parsed: unknown = JSON.parse(definitions);
    if (Array.isArray(parsed)) return parsed as ContainerDefinition[];
    reportViolation(`Expected containerDefinitions to be a JSON array, found ${typeof parsed}.`);
  } catch (error) {
    reportViolation(`Expected containerDefinitions to be JSON, found a parse error: ${(error as Error).message}.`);
  }
  return undefined;
}

function label(container: ContainerDefinition, index: number): string {
  return container.name ? `container "${container.name}"` : `container ${index}`;
}

function validateContainers(
  check: (container: ContainerDefinition, label: string, reportViolation: ReportViolation) => void,
) {
  return validateResourceOfType(aws.ecs.TaskDefinition, (task, _args, reportViolation) => {
    const containers = containersOf(task.containerDefinitions, reportViolation) ?? [];
    containers.forEach((c, i) => check(c, label(c, i), reportViolation));
  });
}

export const ecsTaskNoPrivilegedContainers: ResourceValidationPolicy = {
  name: 'ecs-task-no-privileged-containers',
  description: 'ECS task containers never run privileged (root on the host); Fargate rejects it anyway, and the pipeline needs no host access.',
  remediationSteps: 'Remove privileged: true from the container definition.',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  validateResource: validateContainers((container, where, reportViolation) => {
    if (container.privileged === true) reportViolation(`${where}: expected privileged false or unset, found true.`);
  }),
};

export const ecsTaskLogConfiguration: ResourceValidationPolicy = {
  name: 'ecs-task-log-configuration',
  description: 'Every ECS task container sends its logs somewhere (a log driver), so a failed nightly run can be diagnosed.',
  remediationSteps: 'Set logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": <log group>, "awslogs-region": <region>, "awslogs-stream-prefix": "pipeline" } } on each container.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateContainers((container, where, reportViolation) => {
    if (!container.logConfiguration?.logDriver) reportViolation(`${where}: expected logConfiguration.logDriver, found none.`);
  }),
};

/** Whether an ECS `user` value ("name", "uid", "uid:gid", "name:group") is root. */
function isRootUser(user: string): boolean {
  const who = user.split(':')[0]?.trim() ?? '';
  return who === 'root' || who === '0';
}

export const ecsTaskNonRootUser: ResourceValidationPolicy = {
  name: 'ecs-task-non-root-user',
  description: 'Every ECS task container runs as a named non-root user, declared in the task definition where review can see it.',
  remediationSteps: 'Set user: "1000:1000" (or the image\'s unprivileged user, e.g. "node") on each container definition.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateResource: validateContainers((container, where, reportViolation) => {
    if (container.user === undefined || container.user === '') {
      reportViolation(`${where}: expected a non-root user, found no user (the image default, often root).`);
    } else if (isRootUser(container.user)) {
      reportViolation(`${where}: expected a non-root user, found "${container.user}".`);
    }
  }),
};

export const ecsPolicies = [ecsTaskNoPrivilegedContainers, ecsTaskLogConfiguration, ecsTaskNonRootUser];
