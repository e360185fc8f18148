import type { Policies } from '@pulumi/policy';
import { ec2Policies } from './ec2.js';
import { ecrPolicies } from './ecr.js';
import { ecsPolicies } from './ecs.js';
import { iamPolicies } from './iam.js';
import { kmsPolicies } from './kms.js';
import { logsPolicies } from './logs.js';
import { messagingPolicies } from './messaging.js';
import { s3Policies } from './s3.js';
import { sagemakerPolicies } from './sagemaker.js';
import { schedulerPolicies } from './scheduler.js';
import { stackPolicies } from './stack.js';
import { tagsPolicies } from './tags.js';

/** The pack's name as `pulumi preview --policy-pack` reports it. */
export const policyPackName = 'forecast-fleet';

export const policyPackDescription =
  'Reviews every resource the forecast-fleet stack declares: S3, ECR, IAM, SageMaker, ECS, CloudWatch Logs and alarms, EventBridge Scheduler, KMS, EC2 security groups, SQS, tags, and the links between them.';

/** Every policy of the pack, grouped by AWS service in review order. */
export const policiesByService = {
  s3: s3Policies,
  ecr: ecrPolicies,
  iam: iamPolicies,
  sagemaker: sagemakerPolicies,
  ecs: ecsPolicies,
  logs: logsPolicies,
  scheduler: schedulerPolicies,
  kms: kmsPolicies,
  ec2: ec2Policies,
  messaging: messagingPolicies,
  tags: tagsPolicies,
  stack: stackPolicies,
} as const;

export const policies: Policies = Object.values(policiesByService).flat();
