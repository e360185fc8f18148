import * as aws from '@pulumi/aws';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';

export interface LogRetentionConfig {
  minimumRetentionDays: number;
  maximumRetentionDays: number;
}

export const cloudwatchLogGroupRetention: ResourceValidationPolicy = {
  name: 'cloudwatch-log-group-retention',
  description: 'CloudWatch log groups expire their events after a bounded retention; without one they are kept, and billed, forever.',
  remediationSteps: 'Set retentionInDays on the aws.cloudwatch.LogGroup (config key logRetentionDays) to a value CloudWatch accepts within the allowed range.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  configSchema: {
    properties: {
      minimumRetentionDays: { type: 'integer', minimum: 1, default: 7, description: 'Shortest retention allowed, in days.' },
      maximumRetentionDays: { type: 'integer', minimum: 1, default: 365, description: 'Longest retention allowed, in days.' },
    },
  },
  validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, args, reportViolation) => {
    const { minimumRetentionDays, maximumRetentionDays } = args.getConfig<LogRetentionConfig>();
    const days = group.retentionInDays;
    if (days === undefined || days === 0) {
      reportViolation(`Expected retentionInDays between ${minimumRetentionDays} and ${maximumRetentionDays}, found ${days === 0 ? '0 (never expire)' : 'none (never expire)'}.`);
    } else if (days < minimumRetentionDays || days > maximumRetentionDays) {
      reportViolation(`Expected retentionInDays between ${minimumRetentionDays} and ${maximumRetentionDays}, found ${days}.`);
    }
  }),
};

export const logsPolicies = [cloudwatchLogGroupRetention];
