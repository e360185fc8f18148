import * as aws from '@pulumi/aws';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';

export const sqsQueueEncrypted: ResourceValidationPolicy = {
  name: 'sqs-queue-encrypted',
  description: 'SQS queues (the schedule\'s dead-letter queue holds the events of failed nights) keep server-side encryption on: SQS-managed or a KMS key.',
  remediationSteps: 'Remove sqsManagedSseEnabled: false from the aws.sqs.Queue, or set kmsMasterKeyId.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.sqs.Queue, (queue, _args, reportViolation) => {
    // Unset means SQS-managed encryption, AWS's default for new queues.
    if (queue.sqsManagedSseEnabled === false && !('kmsMasterKeyId' in queue)) {
      reportViolation('Expected SQS-managed or KMS encryption, found sqsManagedSseEnabled false and no kmsMasterKeyId.');
    }
  }),
};

export const cloudwatchAlarmNotifies: ResourceValidationPolicy = {
  name: 'cloudwatch-alarm-notifies',
  description: 'CloudWatch alarms notify someone: an alarm with no action (or with actions switched off) fires into the void and a failed night goes unnoticed.',
  remediationSteps: 'Set alarmActions: [topic.arn] (the stack\'s alarm SNS topic) on the aws.cloudwatch.MetricAlarm and leave actionsEnabled unset or true.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.cloudwatch.MetricAlarm, (alarm, _args, reportViolation) => {
    if (alarm.actionsEnabled === false) reportViolation('Expected actionsEnabled true or unset, found false.');
    if ((alarm.alarmActions ?? []).length === 0) reportViolation('Expected at least one alarmActions target, found none.');
  }),
};

export const messagingPolicies = [sqsQueueEncrypted, cloudwatchAlarmNotifies];
