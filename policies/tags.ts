import * as aws from '@pulumi/aws';
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';

/** Resource types this stack may declare that take `tags` (aws.scheduler.Schedule, for one, does not). */
export const taggableTypes: ReadonlySet<string> = new Set(
  [
    aws.s3.Bucket, aws.ecr.Repository, aws.iam.Role, aws.iam.Policy,
    aws.sagemaker.Model, aws.sagemaker.EndpointConfiguration, aws.sagemaker.Endpoint,
    aws.ecs.Cluster, aws.ecs.TaskDefinition, aws.ecs.Service,
    aws.cloudwatch.LogGroup, aws.cloudwatch.MetricAlarm, aws.sns.Topic, aws.sqs.Queue, aws.kms.Key,
    aws.scheduler.ScheduleGroup, aws.appautoscaling.Target,
    aws.ec2.Vpc, aws.ec2.Subnet, aws.ec2.SecurityGroup,
  ].map((cls) => (cls as unknown as { __pulumiType: string }).__pulumiType),
);

export interface RequiredTagsConfig {
  requiredTags: string[];
}

/** The provider's default tags: its `defaultTags` input is JSON text (`{"tags": {...}}`) on the wire. */
function providerDefaultTags(args: ResourceValidationArgs): Record<string, unknown> {
  const raw = args.provider?.props['defaultTags'] as unknown;
  const parsed = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  const tags = (parsed as { tags?: Record<string, unknown> } | null | undefined)?.tags;
  return tags ?? {};
}

export const requiredTags: ResourceValidationPolicy = {
  name: 'required-tags',
  description: 'Every taggable resource carries the organisation\'s required tags (on the resource or through the provider\'s defaultTags), so cost and ownership reports can attribute it.',
  remediationSteps: 'Set the missing keys in the stack\'s tags config (applied as the AWS provider\'s defaultTags) or in the resource\'s tags.',
  // Attribution, not safety: advisory unless an organisation's pack config makes it mandatory.
  enforcementLevel: 'advisory',
  severity: 'low',
  configSchema: {
    properties: {
      requiredTags: {
        type: 'array',
        items: { type: 'string' },
        default: ['environment', 'team'],
        description: 'Tag keys every taggable resource must carry.',
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!taggableTypes.has(args.type)) args.notApplicable(`${args.type} is not in the list of taggable types`);
    const { requiredTags: required } = args.getConfig<RequiredTagsConfig>();
    const own = (args.props['tags'] ?? {}) as Record<string, unknown>;
    const inherited = providerDefaultTags(args);
    const missing = required.filter((key) => !(key in own) && !(key in inherited));
    if (missing.length > 0) {
      reportViolation(`Expected tags [${required.join(', ')}], missing [${missing.join(', ')}].`);
    }
  },
};

export const tagsPolicies = [requiredTags];
