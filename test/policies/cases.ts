import type { AnalyzedResource } from '../../policies/offline/engine.js';
import { named } from './fixtures.js';

/**
 * One failing case per way to break a policy: each starts from a fresh compliant fixture stack and
 * breaks one thing. Shared by the policy tests and the conformance test against the real analyzer.
 */

export type Props = Record<string, any>;

export interface FailingCase {
  readonly policy: string;
  readonly title: string;
  /** Breaks one thing in a fresh compliant stack. */
  readonly breakStack: (stack: AnalyzedResource[]) => AnalyzedResource[] | void;
  readonly expect: RegExp;
}

export const props = (stack: AnalyzedResource[], name: string): Props => named(stack, name).props as Props;
const without = (stack: AnalyzedResource[], name: string): AnalyzedResource[] => stack.filter((r) => r.name !== name);
const json = (value: unknown): string => JSON.stringify(value);
const allow = (statement: Props): string => json({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] });
const container = (stack: AnalyzedResource[], change: (c: Props) => void): void => {
  const task = props(stack, 'retraining-task');
  const containers = JSON.parse(task['containerDefinitions'] as string) as Props[];
  containers.forEach(change);
  task['containerDefinitions'] = json(containers);
};

export const failingCases: readonly FailingCase[] = [
  { policy: 's3-bucket-public-access-blocked', title: 'no public access block', breakStack: (s) => without(s, 'storage-public-access'), expect: /found none/ },
  { policy: 's3-bucket-public-access-blocked', title: 'one flag off', breakStack: (s) => void (props(s, 'storage-public-access')['restrictPublicBuckets'] = false), expect: /restrictPublicBuckets/ },
  { policy: 's3-bucket-public-access-blocked', title: 'block of another bucket', breakStack: (s) => {
      const block = named(s, 'storage-public-access');
      return s.map((r) => (r === block ? { ...block, props: { ...block.props, bucket: 'other-bucket' }, propertyDependencies: {} } : r));
    }, expect: /found none/ },
  { policy: 's3-bucket-encrypted', title: 'no encryption configuration', breakStack: (s) => without(s, 'storage-encryption'), expect: /found none/ },
  { policy: 's3-bucket-encrypted', title: 'algorithm not allowed by config', breakStack: () => undefined, expect: /aws:kms/ },
  { policy: 's3-bucket-versioned', title: 'versioning suspended', breakStack: (s) => void (props(s, 'storage-versioning')['versioningConfiguration'] = { status: 'Suspended' }), expect: /Suspended/ },
  { policy: 's3-bucket-tls-only', title: 'no bucket policy', breakStack: (s) => without(s, 'storage-tls-only'), expect: /no bucket policy/ },
  { policy: 's3-bucket-tls-only', title: 'policy without the SecureTransport deny', breakStack: (s) => void (props(s, 'storage-tls-only')['policy'] = json({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: '*' }] })), expect: /SecureTransport/ },
  { policy: 's3-bucket-owner-enforced', title: 'ACLs still enabled', breakStack: (s) => void (props(s, 'storage-ownership')['rule'] = { objectOwnership: 'ObjectWriter' }), expect: /BucketOwnerEnforced.*found ObjectWriter/ },
  { policy: 's3-bucket-owner-enforced', title: 'no ownership controls', breakStack: (s) => without(s, 'storage-ownership'), expect: /no BucketOwnershipControls/ },
  { policy: 's3-bucket-expires-noncurrent-versions', title: 'no lifecycle configuration', breakStack: (s) => without(s, 'storage-lifecycle'), expect: /no lifecycle configuration/ },
  { policy: 's3-bucket-expires-noncurrent-versions', title: 'noncurrent rule disabled', breakStack: (s) => void ((props(s, 'storage-lifecycle')['rules'] as Props[])[1]!['status'] = 'Disabled'), expect: /2 rules without one/ },
  { policy: 'ecr-repository-scan-on-push', title: 'scan off', breakStack: (s) => void (props(s, 'images-inference')['imageScanningConfiguration'] = { scanOnPush: false }), expect: /scanOnPush true, found false/ },
  { policy: 'ecr-repository-tag-mutability', title: 'mutable tags', breakStack: (s) => void delete props(s, 'images-inference')['imageTagMutability'], expect: /found MUTABLE/ },
  { policy: 'ecr-repository-tag-mutability', title: 'exclusion without filters', breakStack: (s) => void delete props(s, 'images-inference')['imageTagMutabilityExclusionFilters'], expect: /ExclusionFilters/ },
  { policy: 'ecr-repository-lifecycle-policy', title: 'no lifecycle policy', breakStack: (s) => without(s, 'images-inference-lifecycle'), expect: /found none/ },
  { policy: 'iam-no-wildcard-write-actions', title: 'service wildcard', breakStack: (s) => void (props(s, 'roles-sagemaker-policy')['policy'] = allow({ Action: 's3:*', Resource: 'arn:aws:s3:::b/*' })), expect: /wildcard action "s3:\*"/ },
  { policy: 'iam-no-wildcard-write-actions', title: 'write-verb wildcard', breakStack: (s) => void (props(s, 'roles-sagemaker-policy')['policy'] = allow({ Action: ['sagemaker:Create*'], Resource: 'arn:aws:sagemaker:::x' })), expect: /sagemaker:Create\*/ },
  { policy: 'iam-no-wildcard-write-actions', title: 'NotAction in an Allow', breakStack: (s) => void (props(s, 'roles-sagemaker-policy')['policy'] = allow({ NotAction: 'iam:*', Resource: 'arn:aws:s3:::b' })), expect: /NotAction/ },
  { policy: 'iam-no-star-resource-for-data-actions', title: 'GetObject on *', breakStack: (s) => void (props(s, 'roles-sagemaker-policy')['policy'] = allow({ Action: 's3:GetObject', Resource: '*' })), expect: /s3:GetObject.*Resource "\*"/ },
  { policy: 'iam-passrole-requires-passed-to-service', title: 'PassRole without condition', breakStack: (s) => void (props(s, 'roles-pipeline-task-policy')['policy'] = allow({ Action: 'iam:PassRole', Resource: 'arn:aws:iam::1:role/x' })), expect: /no condition/ },
  { policy: 'iam-passrole-requires-passed-to-service', title: 'PassRole on *', breakStack: (s) => void (props(s, 'roles-pipeline-task-policy')['policy'] = allow({ Action: 'iam:PassRole', Resource: '*', Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } })), expect: /named role ARNs/ },
  { policy: 'iam-role-trusted-service-principals', title: 'account principal', breakStack: (s) => void (props(s, 'roles-sagemaker')['assumeRolePolicy'] = allow({ Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' })), expect: /AWS \[arn:aws:iam::999999999999:root\]/ },
  { policy: 'iam-role-trusted-service-principals', title: 'unexpected service', breakStack: (s) => void (props(s, 'roles-sagemaker')['assumeRolePolicy'] = allow({ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' })), expect: /lambda\.amazonaws\.com/ },
  { policy: 'iam-role-trust-source-account', title: 'service trust without a source condition', breakStack: (s) => void (props(s, 'roles-sagemaker')['assumeRolePolicy'] = allow({ Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' })), expect: /aws:SourceAccount.*found no condition/ },
  { policy: 'iam-role-trust-source-account', title: 'trust conditioned on something else only', breakStack: (s) => void (props(s, 'roles-pipeline-task')['assumeRolePolicy'] = allow({ Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { Bool: { 'aws:SecureTransport': 'true' } } })), expect: /found only \[Bool\]/ },
  { policy: 'iam-sagemaker-job-arns-exact', title: 'prefix pattern matching sibling stacks', breakStack: (s) => void (props(s, 'roles-pipeline-task-policy')['policy'] = allow({ Action: ['sagemaker:CreateTrainingJob'], Resource: 'arn:aws:sagemaker:eu-west-1:123456789012:training-job/forecast-fleet-dev-*' })), expect: /training-job ARNs without "\*".*forecast-fleet-dev-\*/ },
  { policy: 'sagemaker-endpoint-instance-type-allowed', title: 'GPU instance', breakStack: (s) => void ((props(s, 'endpoint-config')['productionVariants'] as Props[])[0]!['instanceType'] = 'ml.g5.xlarge'), expect: /found ml\.g5\.xlarge/ },
  { policy: 'sagemaker-endpoint-config-kms-key', title: 'no key', breakStack: (s) => void delete props(s, 'endpoint-config')['kmsKeyArn'], expect: /kmsKeyArn/ },
  { policy: 'sagemaker-endpoint-config-kms-key', title: 'key undefined (absent on the wire)', breakStack: (s) => void (props(s, 'endpoint-config')['kmsKeyArn'] = undefined), expect: /kmsKeyArn/ },
  { policy: 'sagemaker-endpoint-config-kms-key', title: 'key on a local-NVMe instance type', breakStack: (s) => void ((props(s, 'endpoint-config')['productionVariants'] as Props[])[0]!['instanceType'] = 'ml.c5d.xlarge'), expect: /no kmsKeyArn with local-NVMe instance types \[ml\.c5d\.xlarge\]/ },
  { policy: 'sagemaker-endpoint-config-auto-named', title: 'explicit config name', breakStack: (s) => void (props(s, 'endpoint-config')['name'] = 'fixed'), expect: /found "fixed"/ },
  { policy: 'sagemaker-model-multi-model', title: 'single-model mode', breakStack: (s) => void delete (props(s, 'endpoint-model')['primaryContainer'] as Props)['mode'], expect: /SingleModel/ },
  { policy: 'sagemaker-model-multi-model', title: 'model data URL is one archive', breakStack: (s) => void ((props(s, 'endpoint-model')['primaryContainer'] as Props)['modelDataUrl'] = 's3://b/models/1.tar.gz'), expect: /ending in "\/"/ },
  { policy: 'sagemaker-endpoint-auto-rollback', title: 'no deployment config', breakStack: (s) => void delete props(s, 'endpoint')['deploymentConfig'], expect: /no deploymentConfig/ },
  { policy: 'sagemaker-endpoint-autoscaling-bounded', title: 'scales to 50 instances', breakStack: (s) => void (props(s, 'endpoint-scaling')['maxCapacity'] = 50), expect: /at most 10 .*found 50/ },
  { policy: 'kms-key-rotation-enabled', title: 'rotation off', breakStack: (s) => void delete props(s, 'keys-endpoint')['enableKeyRotation'], expect: /unset \(off\)/ },
  { policy: 'ec2-security-group-no-public-ingress', title: 'SSH open to the world', breakStack: (s) => void (props(s, 'network-task')['ingress'] = [{ cidrBlocks: ['0.0.0.0/0'], fromPort: 22, toPort: 22, protocol: 'tcp' }]), expect: /port 22 open to the internet/ },
  { policy: 'sqs-queue-encrypted', title: 'encryption switched off', breakStack: (s) => void (props(s, 'retraining-dlq')['sqsManagedSseEnabled'] = false), expect: /sqsManagedSseEnabled false/ },
  { policy: 'cloudwatch-alarm-notifies', title: 'alarm without actions', breakStack: (s) => void delete props(s, 'monitoring-endpoint-errors')['alarmActions'], expect: /alarmActions target, found none/ },
  { policy: 'ecs-task-no-privileged-containers', title: 'privileged', breakStack: (s) => container(s, (c) => (c['privileged'] = true)), expect: /privileged false or unset, found true/ },
  { policy: 'ecs-task-log-configuration', title: 'no log configuration', breakStack: (s) => container(s, (c) => delete c['logConfiguration']), expect: /logDriver, found none/ },
  { policy: 'ecs-task-non-root-user', title: 'no user', breakStack: (s) => container(s, (c) => delete c['user']), expect: /found no user/ },
  { policy: 'ecs-task-non-root-user', title: 'root uid', breakStack: (s) => container(s, (c) => (c['user'] = '0:0')), expect: /found "0:0"/ },
  { policy: 'cloudwatch-log-group-retention', title: 'no retention', breakStack: (s) => void delete props(s, 'retraining-logs')['retentionInDays'], expect: /never expire/ },
  { policy: 'cloudwatch-log-group-retention', title: 'retention above the maximum', breakStack: (s) => void (props(s, 'retraining-logs')['retentionInDays'] = 3653), expect: /found 3653/ },
  { policy: 'scheduler-schedule-time-zone', title: 'UTC by default', breakStack: (s) => void delete props(s, 'retraining-schedule')['scheduleExpressionTimezone'], expect: /found none/ },
  { policy: 'scheduler-schedule-retry-policy', title: 'no retry policy', breakStack: (s) => void delete (props(s, 'retraining-schedule')['target'] as Props)['retryPolicy'], expect: /no retry policy/ },
  { policy: 'scheduler-schedule-dead-letter-queue', title: 'no DLQ', breakStack: (s) => void delete (props(s, 'retraining-schedule')['target'] as Props)['deadLetterConfig'], expect: /deadLetterConfig/ },
  { policy: 'required-tags', title: 'missing environment tag', breakStack: (s) => void (props(s, 'retraining-cluster')['tags'] = { team: 'forecasting' }), expect: /missing \[environment\]/ },
  { policy: 'stack-schedule-runs-own-task', title: 'literal task ARN from elsewhere', breakStack: (s) => {
      const schedule = named(s, 'retraining-schedule');
      return s.map((r) => (r === schedule ? { ...schedule, propertyDependencies: { target: [named(s, 'retraining-cluster').urn] } } : r));
    }, expect: /task definition in this stack/ },
  { policy: 'stack-endpoint-reads-own-bucket', title: 'model data in a foreign bucket', breakStack: (s) => {
      const model = named(s, 'endpoint-model');
      (model.props as Props)['primaryContainer'] = { ...(model.props['primaryContainer'] as Props), modelDataUrl: 's3://someone-else/models/' };
      return s.map((r) => (r === model ? { ...model, propertyDependencies: { primaryContainer: [] } } : r));
    }, expect: /come from a bucket of this stack/ },
];

/** Config under which a case fails although the stack itself is compliant. */
export const caseConfig: Record<string, Record<string, unknown>> = {
  'algorithm not allowed by config': { 's3-bucket-encrypted': { allowedAlgorithms: ['aws:kms'] } },
};

