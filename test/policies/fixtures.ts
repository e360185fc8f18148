import type { AnalyzedResource } from '../../policies/offline/engine.js';

/**
 * A hand-built stack shaped like the program's: one compliant resource per type, props serving as
 * both inputs and outputs. Each failing case clones it and breaks one thing (the
 * compliance-policies pattern).
 */

const STACK = 'urn:pulumi:dev::forecast-fleet';
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

export function urnOf(type: string, name: string): string {
  return `${STACK}::${type}::${name}`;
}

interface Spec {
  type: string;
  name: string;
  props: Record<string, unknown>;
  deps?: Record<string, string[]>;
}

function resource({ type, name, props, deps = {} }: Spec): AnalyzedResource {
  const dependencies = [...new Set(Object.values(deps).flat())].map((n) => byName.get(n) ?? n);
  const propertyDependencies = Object.fromEntries(
    Object.entries(deps).map(([property, names]) => [property, names.map((n) => byName.get(n) ?? n)]),
  );
  const urn = urnOf(type, name);
  byName.set(name, urn);
  return { urn, type, name, props, dependencies, propertyDependencies };
}

const byName = new Map<string, string>();

const json = (value: unknown): string => JSON.stringify(value);
const trust = (service: string) =>
  json({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } }],
  });

export const BUCKET = 'forecast-fleet-dev-20261126abcdefghijklmnop';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const TAGS = { environment: 'dev', team: 'forecasting' };

/** The compliant stack, fresh on every call so a case can mutate it. */
export function compliantStack(): AnalyzedResource[] {
  byName.clear();
  return [
    resource({ type: 'aws:s3/bucket:Bucket', name: 'storage-bucket', props: { bucketPrefix: 'forecast-fleet-dev', bucket: BUCKET, id: BUCKET, arn: BUCKET_ARN, tags: TAGS } }),
    resource({
      type: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
      name: 'storage-public-access',
      props: { bucket: BUCKET, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      deps: { bucket: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
      name: 'storage-encryption',
      props: { bucket: BUCKET, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
      deps: { bucket: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:s3/bucketVersioning:BucketVersioning',
      name: 'storage-versioning',
      props: { bucket: BUCKET, versioningConfiguration: { status: 'Enabled' } },
      deps: { bucket: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:s3/bucketPolicy:BucketPolicy',
      name: 'storage-tls-only',
      props: {
        bucket: BUCKET,
        policy: json({
          Version: '2012-10-17',
          Statement: [{ Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: ['s3:*'], Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
        }),
      },
      deps: { bucket: ['storage-bucket'], policy: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:s3/bucketOwnershipControls:BucketOwnershipControls',
      name: 'storage-ownership',
      props: { bucket: BUCKET, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      deps: { bucket: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
      name: 'storage-lifecycle',
      props: {
        bucket: BUCKET,
        rules: [
          { id: 'expire-runs', status: 'Enabled', filter: { prefix: 'runs/' }, expiration: { days: 14 } },
          { id: 'expire-noncurrent-versions', status: 'Enabled', filter: {}, noncurrentVersionExpiration: { noncurrentDays: 14 } },
        ],
      },
      deps: { bucket: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:kms/key:Key',
      name: 'keys-endpoint',
      props: { description: 'endpoint volumes', enableKeyRotation: true, deletionWindowInDays: 30, tags: TAGS },
    }),
    resource({
      type: 'aws:ec2/securityGroup:SecurityGroup',
      name: 'network-task',
      props: {
        vpcId: 'vpc-1',
        egress: [{ cidrBlocks: ['0.0.0.0/0'], fromPort: 443, toPort: 443, protocol: 'tcp' }],
        tags: TAGS,
      },
    }),
    resource({
      type: 'aws:ecr/repository:Repository',
      name: 'images-inference',
      props: {
        name: 'forecast-fleet-dev-inference',
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: '*-container', filterType: 'WILDCARD' }],
        tags: TAGS,
      },
    }),
    resource({
      type: 'aws:ecr/lifecyclePolicy:LifecyclePolicy',
      name: 'images-inference-lifecycle',
      props: { repository: 'forecast-fleet-dev-inference', policy: json({ rules: [] }) },
      deps: { repository: ['images-inference'] },
    }),
    resource({
      type: 'aws:iam/role:Role',
      name: 'roles-sagemaker',
      props: { assumeRolePolicy: trust('sagemaker.amazonaws.com'), arn: `arn:aws:iam::${ACCOUNT}:role/sagemaker`, tags: TAGS },
    }),
    resource({
      type: 'aws:iam/rolePolicy:RolePolicy',
      name: 'roles-sagemaker-policy',
      props: {
        role: 'sagemaker',
        policy: json({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'ReadModels', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${BUCKET_ARN}/models/*`] },
            { Sid: 'EcrAuthNoResourceLevel', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
            { Sid: 'DescribeLogs', Effect: 'Allow', Action: ['logs:Describe*'], Resource: '*' },
          ],
        }),
      },
      deps: { role: ['roles-sagemaker'], policy: ['storage-bucket'] },
    }),
    resource({
      type: 'aws:iam/role:Role',
      name: 'roles-pipeline-task',
      props: { assumeRolePolicy: trust('ecs-tasks.amazonaws.com'), arn: `arn:aws:iam::${ACCOUNT}:role/pipeline`, tags: TAGS },
    }),
    resource({
      type: 'aws:iam/rolePolicy:RolePolicy',
      name: 'roles-pipeline-task-policy',
      props: {
        role: 'pipeline',
        policy: json({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'Jobs', Effect: 'Allow', Action: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob'], Resource: [`arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/forecast-fleet-dev-????????-????-train`, `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/forecast-fleet-dev-????????-????-train-r?`] },
            {
              Sid: 'PassSageMakerRole',
              Effect: 'Allow',
              Action: ['iam:PassRole'],
              Resource: [`arn:aws:iam::${ACCOUNT}:role/sagemaker`],
              Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
            },
          ],
        }),
      },
      deps: { role: ['roles-pipeline-task'] },
    }),
    resource({
      type: 'aws:sagemaker/model:Model',
      name: 'endpoint-model',
      props: {
        executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/sagemaker`,
        primaryContainer: { image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/inference@sha256:abc`, mode: 'MultiModel', modelDataUrl: `s3://${BUCKET}/models/` },
        tags: TAGS,
      },
      deps: { primaryContainer: ['storage-bucket', 'images-inference'], executionRoleArn: ['roles-sagemaker'] },
    }),
    resource({
      type: 'aws:sagemaker/endpointConfiguration:EndpointConfiguration',
      name: 'endpoint-config',
      props: {
        kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234`,
        productionVariants: [{ variantName: 'primary', modelName: 'endpoint-model-1234', instanceType: 'ml.c5.xlarge', initialInstanceCount: 1 }],
        tags: TAGS,
      },
      deps: { productionVariants: ['endpoint-model'] },
    }),
    resource({
      type: 'aws:sagemaker/endpoint:Endpoint',
      name: 'endpoint',
      props: {
        name: 'forecast-fleet-dev',
        endpointConfigName: 'endpoint-config-1234',
        deploymentConfig: { autoRollbackConfiguration: { alarms: [{ alarmName: 'forecast-fleet-dev-endpoint-5xx' }] } },
        tags: TAGS,
      },
      deps: { endpointConfigName: ['endpoint-config'] },
    }),
    resource({
      type: 'aws:appautoscaling/target:Target',
      name: 'endpoint-scaling',
      props: { serviceNamespace: 'sagemaker', resourceId: 'endpoint/forecast-fleet-dev/variant/primary', scalableDimension: 'sagemaker:variant:DesiredInstanceCount', minCapacity: 1, maxCapacity: 2, tags: TAGS },
    }),
    resource({ type: 'aws:sns/topic:Topic', name: 'monitoring-alarms', props: { arn: `arn:aws:sns:${REGION}:${ACCOUNT}:alarms`, tags: TAGS } }),
    resource({
      type: 'aws:cloudwatch/metricAlarm:MetricAlarm',
      name: 'monitoring-endpoint-errors',
      props: { metricName: 'Invocation5XXErrors', namespace: 'AWS/SageMaker', comparisonOperator: 'GreaterThanOrEqualToThreshold', evaluationPeriods: 5, threshold: 1, alarmActions: [`arn:aws:sns:${REGION}:${ACCOUNT}:alarms`], tags: TAGS },
      deps: { alarmActions: ['monitoring-alarms'] },
    }),
    resource({
      type: 'aws:cloudwatch/logGroup:LogGroup',
      name: 'retraining-logs',
      props: { name: '/forecast-fleet/dev/pipeline', retentionInDays: 30, tags: TAGS },
    }),
    resource({ type: 'aws:ecs/cluster:Cluster', name: 'retraining-cluster', props: { name: 'forecast-fleet-dev', arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/forecast-fleet-dev`, tags: TAGS } }),
    resource({
      type: 'aws:ecs/taskDefinition:TaskDefinition',
      name: 'retraining-task',
      props: {
        family: 'forecast-fleet-dev-pipeline',
        arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/forecast-fleet-dev-pipeline:1`,
        requiresCompatibilities: ['FARGATE'],
        containerDefinitions: json([
          {
            name: 'pipeline',
            image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/pipeline@sha256:def`,
            user: '1000:1000',
            logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/forecast-fleet/dev/pipeline' } },
          },
        ]),
        tags: TAGS,
      },
      deps: { containerDefinitions: ['images-inference', 'retraining-logs'] },
    }),
    resource({ type: 'aws:sqs/queue:Queue', name: 'retraining-dlq', props: { name: 'forecast-fleet-dev-schedule-dlq', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:dlq`, tags: TAGS } }),
    resource({
      type: 'aws:scheduler/schedule:Schedule',
      name: 'retraining-schedule',
      props: {
        scheduleExpression: 'cron(0 2 * * ? *)',
        scheduleExpressionTimezone: 'Europe/Berlin',
        flexibleTimeWindow: { mode: 'OFF' },
        target: {
          arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/forecast-fleet-dev`,
          roleArn: `arn:aws:iam::${ACCOUNT}:role/scheduler`,
          ecsParameters: { taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/forecast-fleet-dev-pipeline:1`, launchType: 'FARGATE' },
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
          deadLetterConfig: { arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:dlq` },
        },
      },
      deps: { target: ['retraining-cluster', 'retraining-task', 'retraining-dlq'] },
    }),
  ];
}

/** The resource of `stack` with logical name `name`; throws when absent so a typo cannot pass a test. */
export function named(stack: readonly AnalyzedResource[], name: string): AnalyzedResource {
  const found = stack.find((r) => r.name === name);
  if (!found) throw new Error(`fixture has no resource named ${name}`);
  return found;
}
