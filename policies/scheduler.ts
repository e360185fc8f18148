import * as aws from '@pulumi/aws';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';

export const schedulerScheduleTimeZone: ResourceValidationPolicy = {
  name: 'scheduler-schedule-time-zone',
  description: 'EventBridge schedules state their time zone, so "nightly" means the business\'s night and run ids (derived from the scheduled time in that zone) stay stable across daylight-saving changes.',
  remediationSteps: 'Set scheduleExpressionTimezone on the aws.scheduler.Schedule to an IANA zone, e.g. "Europe/Berlin" (config key scheduleTimezone).',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.scheduler.Schedule, (schedule, _args, reportViolation) => {
    if (!schedule.scheduleExpressionTimezone) {
      reportViolation(`Expected scheduleExpressionTimezone for "${schedule.scheduleExpression}", found none (UTC).`);
    }
  }),
};

export interface ScheduleRetryConfig {
  minimumRetryAttempts: number;
}

export const schedulerScheduleRetryPolicy: ResourceValidationPolicy = {
  name: 'scheduler-schedule-retry-policy',
  description: 'EventBridge schedules retry a failed start of their target, so one throttled RunTask does not lose a night of training.',
  remediationSteps: 'Set target.retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 } on the aws.scheduler.Schedule.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  configSchema: {
    properties: {
      minimumRetryAttempts: { type: 'integer', minimum: 0, maximum: 185, default: 1, description: 'Fewest retry attempts a schedule may configure.' },
    },
  },
  validateResource: validateResourceOfType(aws.scheduler.Schedule, (schedule, args, reportViolation) => {
    const { minimumRetryAttempts } = args.getConfig<ScheduleRetryConfig>();
    const attempts = schedule.target.retryPolicy?.maximumRetryAttempts;
    if (attempts === undefined || attempts < minimumRetryAttempts) {
      reportViolation(`Expected target.retryPolicy.maximumRetryAttempts of at least ${minimumRetryAttempts}, found ${attempts ?? 'no retry policy'}.`);
    }
  }),
};

export const schedulerScheduleDeadLetterQueue: ResourceValidationPolicy = {
  name: 'scheduler-schedule-dead-letter-queue',
  description: 'EventBridge schedules send events they could not deliver to a dead-letter queue, where an alarm can see them, instead of dropping them.',
  remediationSteps: 'Create an aws.sqs.Queue, set target.deadLetterConfig: { arn: queue.arn } on the schedule, allow the scheduler role sqs:SendMessage on it, and alarm on its depth.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.scheduler.Schedule, (schedule, _args, reportViolation) => {
    // Presence, not value: the queue ARN is unknown until the queue exists, and `in` does not read it.
    const deadLetter = schedule.target.deadLetterConfig;
    if (deadLetter === undefined || !('arn' in deadLetter)) {
      reportViolation('Expected target.deadLetterConfig.arn, found none.');
    }
  }),
};

export const schedulerPolicies = [schedulerScheduleTimeZone, schedulerScheduleRetryPolicy, schedulerScheduleDeadLetterQueue];
