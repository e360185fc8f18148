import { summarizeRoleGrants } from './iam-summary.js';
import type { PlannedResource, StackPlan } from './plan-stack.js';
import { UNKNOWN } from './plan-stack.js';

/** A type token's short form: `aws:s3/bucket:Bucket` → `aws:s3:Bucket`. */
export function shortType(type: string): string {
  const [pkg, module = '', name = ''] = type.split(':');
  return name === '' ? type : `${pkg}:${module.split('/')[0]}:${name}`;
}

function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function json(text: unknown): unknown {
  if (typeof text !== 'string' || text === UNKNOWN) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function show(value: unknown): string {
  if (value === undefined) return '-';
  if (value === UNKNOWN) return '(known after deploy)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

interface Statement {
  Sid?: string;
  Action?: string[];
  Resource?: string | string[];
}

/** The few properties a reviewer looks at for each type. */
export function keyProperties(resource: PlannedResource): Record<string, string> {
  const i = resource.inputs;
  const o = resource.outputs;
  switch (resource.type) {
    case 'pulumi:providers:aws':
      return { region: show(i['region']), defaultTags: show(json(i['defaultTags']) ?? i['defaultTags']) };
    case 'aws:s3/bucket:Bucket':
      return { bucket: show(o['bucket']) };
    case 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock':
      return { blocked: show(['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'].every((k) => i[k] === true)) };
    case 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration':
      return { sse: show(at(i, 'rules', 0, 'applyServerSideEncryptionByDefault', 'sseAlgorithm')) };
    case 'aws:s3/bucketVersioning:BucketVersioning':
      return { versioning: show(at(i, 'versioningConfiguration', 'status')) };
    case 'aws:s3/bucketOwnershipControls:BucketOwnershipControls':
      return { ownership: show(at(i, 'rule', 'objectOwnership')) };
    case 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration':
      return { rules: ((i['rules'] as { id?: string }[] | undefined) ?? []).map((rule) => rule.id).join(', ') };
    case 'aws:s3/bucketPolicy:BucketPolicy':
      return { statements: ((at(json(i['policy']), 'Statement') as Statement[] | undefined) ?? []).map((s) => s.Sid).join(', ') };
    case 'aws:ecr/repository:Repository':
      return {
        name: show(i['name']),
        scanOnPush: show(at(i, 'imageScanningConfiguration', 'scanOnPush')),
        tags: show(i['imageTagMutability']),
      };
    case 'aws:ecr/lifecyclePolicy:LifecyclePolicy':
      return { rule: show(at(json(i['policy']), 'rules', 0, 'description')) };
    case 'docker-build:index:Image':
      return { target: show(i['target']), platforms: show(i['platforms']), exports: show(i['exports']), digest: show(o['digest'] ?? UNKNOWN) };
    case 'aws:iam/role:Role': {
      const trust = json(i['assumeRolePolicy']);
      return { name: show(o['name']), trustedBy: show(at(trust, 'Statement', 0, 'Principal', 'Service')) };
    }
    case 'aws:iam/rolePolicy:RolePolicy': {
      const statements = (at(json(i['policy']), 'Statement') as Statement[] | undefined) ?? [];
      return {
        actions: String(statements.reduce((count, s) => count + (s.Action?.length ?? 0), 0)),
        statements: statements.map((s) => s.Sid).join(', '),
      };
    }
    case 'aws:sagemaker/model:Model':
      return {
        mode: show(at(i, 'primaryContainer', 'mode')),
        modelDataUrl: show(at(i, 'primaryContainer', 'modelDataUrl')),
        image: show(at(i, 'primaryContainer', 'image')),
      };
    case 'aws:kms/key:Key':
      return { rotation: show(i['enableKeyRotation']), description: show(i['description']) };
    case 'aws:kms/alias:Alias':
      return { name: show(i['name']) };
    case 'aws:sagemaker/endpointConfiguration:EndpointConfiguration':
      return {
        kmsKey: show(i['kmsKeyArn']),
        instanceType: show(at(i, 'productionVariants', 0, 'instanceType')),
        instances: show(at(i, 'productionVariants', 0, 'initialInstanceCount')),
      };
    case 'aws:sagemaker/endpoint:Endpoint':
      return {
        name: show(i['name']),
        rollbackAlarms: show(at(i, 'deploymentConfig', 'autoRollbackConfiguration', 'alarms')),
      };
    case 'aws:appautoscaling/target:Target':
      return { resourceId: show(i['resourceId']), capacity: `${show(i['minCapacity'])}-${show(i['maxCapacity'])}` };
    case 'aws:appautoscaling/policy:Policy':
      return {
        metric: show(at(i, 'targetTrackingScalingPolicyConfiguration', 'predefinedMetricSpecification', 'predefinedMetricType')),
        target: show(at(i, 'targetTrackingScalingPolicyConfiguration', 'targetValue')),
      };
    case 'aws:ecs/cluster:Cluster':
      return { name: show(i['name']) };
    case 'aws:ecs/taskDefinition:TaskDefinition': {
      const container = at(json(i['containerDefinitions']), 0) as { environment?: { name: string }[] } | undefined;
      return {
        family: show(i['family']),
        size: `${show(i['cpu'])} CPU / ${show(i['memory'])} MiB`,
        environment: (container?.environment ?? []).map((e) => e.name).join(', ') || show(i['containerDefinitions']),
      };
    }
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { name: show(i['name']), retentionDays: show(i['retentionInDays']) };
    case 'aws:sqs/queue:Queue':
      return { name: show(i['name']), sse: show(i['sqsManagedSseEnabled']) };
    case 'aws:scheduler/schedule:Schedule':
      return {
        name: show(i['name']),
        expression: show(i['scheduleExpression']),
        timezone: show(i['scheduleExpressionTimezone']),
        state: show(i['state']),
        retries: show(at(i, 'target', 'retryPolicy', 'maximumRetryAttempts')),
      };
    case 'aws:sns/topic:Topic':
      return { name: show(o['name']) };
    case 'aws:sns/topicSubscription:TopicSubscription':
      return { protocol: show(i['protocol']), endpoint: show(i['endpoint']) };
    case 'aws:cloudwatch/eventRule:EventRule':
      return { pattern: show(i['eventPattern']) };
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return {
        name: show(i['name']),
        metric: `${show(i['namespace'])} ${show(i['metricName'])} ${show(i['statistic'])}`,
        threshold: `${show(i['comparisonOperator'])} ${show(i['threshold'])}`,
      };
    case 'aws:ec2/vpc:Vpc':
      return { cidr: show(i['cidrBlock']) };
    case 'aws:ec2/subnet:Subnet':
      return { cidr: show(i['cidrBlock']), zone: show(i['availabilityZone']) };
    case 'aws:ec2/securityGroup:SecurityGroup':
      return { ingress: show(i['ingress'] ?? []), egress: show(i['egress']) };
    case 'aws:ec2/vpcEndpoint:VpcEndpoint':
      return { service: show(i['serviceName']), type: show(i['vpcEndpointType']) };
    default:
      return {};
  }
}

/** The plan as text for review: resources grouped by component, then counts by type. */
export function renderPlan(plan: StackPlan): string {
  const lines: string[] = [];
  const custom = plan.resources.filter((resource) => resource.custom);
  const components = plan.resources.filter((resource) => !resource.custom && resource.type.startsWith('forecast:'));
  lines.push(`Stack ${plan.project}/${plan.stack}: ${custom.length} resources would be created`, '');

  const groups: [string, PlannedResource[]][] = [
    ['(stack)', custom.filter((resource) => !components.some((component) => component.urn === resource.parent))],
    ...components.map((component): [string, PlannedResource[]] => [
      `${component.name} (${component.type})`,
      custom.filter((resource) => resource.parent === component.urn),
    ]),
  ];
  for (const [title, members] of groups) {
    if (members.length === 0) continue;
    lines.push(title);
    for (const resource of members) {
      lines.push(`  + ${shortType(resource.type)}  ${resource.name}`);
      for (const [key, value] of Object.entries(keyProperties(resource))) lines.push(`      ${key}: ${value}`);
    }
    lines.push('');
  }

  lines.push('Resources by type');
  const counts = new Map<string, number>();
  for (const resource of custom) counts.set(shortType(resource.type), (counts.get(shortType(resource.type)) ?? 0) + 1);
  const width = Math.max(...[...counts.keys()].map((type) => type.length));
  for (const [type, count] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${type.padEnd(width)}  ${count}`);
  }
  lines.push(`  ${'total'.padEnd(width)}  ${custom.length}`, '', 'IAM actions allowed per role');
  for (const grant of summarizeRoleGrants(plan)) {
    if (!grant.known) {
      lines.push(`  ${grant.role} (${grant.trustedBy}): policy known after deploy (it names resources not created yet)`);
      continue;
    }
    const star = grant.starResourceStatements.length === 0 ? '' : `; Resource "*" only in ${grant.starResourceStatements.join(', ')}`;
    const wildcards = grant.wildcardActions.length === 0 ? 'no wildcard actions' : `WILDCARD ${grant.wildcardActions.join(', ')}`;
    lines.push(`  ${grant.role} (${grant.trustedBy}): ${grant.actions.length} actions, ${wildcards}${star}`);
  }
  lines.push('', 'Outputs');
  for (const [key, value] of Object.entries(plan.outputs)) lines.push(`  ${key}: ${show(value)}`);
  return lines.join('\n');
}
