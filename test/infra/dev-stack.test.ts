import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { DateTime } from 'luxon';
import { PIPELINE_ENV } from '../../runtime/config/pipeline-env.js';
import { readPipelineConfig, type PipelineConfig } from '../../runtime/config/pipeline-config.js';
import { buildProcessingJobRequest, buildTrainingJobRequest } from '../../runtime/pipeline/requests.js';
import { deriveRunId } from '../../runtime/pipeline/run-id.js';
import { planStack, PROJECT_DIR, type StackPlan } from '../../infra/plan/plan-stack.js';
import { summarizeRoleGrants } from '../../infra/plan/iam-summary.js';
import { arnMatches, at, grants, list, objectArn, ofType, one, pipelineContainer, roleStatements, scheduledRunEnvironment, statementsOf, type Statement } from './plan-helpers.js';

let plan: StackPlan;
test.before(async () => {
  plan = await planStack({ stack: 'dev' });
});

const sagemakerRole = () => one(plan, 'aws:iam/role:Role', 'roles-sagemaker');
const taskDefinition = () => one(plan, 'aws:ecs/taskDefinition:TaskDefinition');
const container = () => pipelineContainer(plan);

function pipelineConfig(): PipelineConfig {
  return readPipelineConfig(scheduledRunEnvironment(plan, '2026-11-26T01:00:00Z'));
}

test('declares exactly the expected resources, by type', (t) => {
  const counts: Record<string, number> = {};
  for (const resource of plan.resources.filter((r) => r.custom)) counts[resource.type] = (counts[resource.type] ?? 0) + 1;
  t.deepEqual(counts, {
    'pulumi:providers:aws': 1,
    'aws:s3/bucket:Bucket': 1,
    'aws:s3/bucketOwnershipControls:BucketOwnershipControls': 1,
    'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock': 1,
    'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': 1,
    'aws:s3/bucketVersioning:BucketVersioning': 1,
    'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration': 1,
    'aws:s3/bucketPolicy:BucketPolicy': 1,
    'aws:ecr/repository:Repository': 4,
    'aws:ecr/lifecyclePolicy:LifecyclePolicy': 4,
    'docker-build:index:Image': 4,
    'aws:ec2/vpc:Vpc': 1,
    'aws:ec2/internetGateway:InternetGateway': 1,
    'aws:ec2/routeTable:RouteTable': 1,
    'aws:ec2/routeTableAssociation:RouteTableAssociation': 2,
    'aws:ec2/subnet:Subnet': 2,
    'aws:ec2/securityGroup:SecurityGroup': 1,
    'aws:ec2/vpcEndpoint:VpcEndpoint': 1,
    'aws:iam/role:Role': 4,
    'aws:iam/rolePolicy:RolePolicy': 4,
    'aws:ecs/cluster:Cluster': 1,
    'aws:ecs/taskDefinition:TaskDefinition': 1,
    'aws:cloudwatch/logGroup:LogGroup': 1,
    'aws:sqs/queue:Queue': 1,
    'aws:scheduler/schedule:Schedule': 1,
    'aws:sns/topic:Topic': 1,
    'aws:kms/key:Key': 1,
    'aws:kms/alias:Alias': 1,
    'aws:cloudwatch/eventRule:EventRule': 1,
    'aws:cloudwatch/eventTarget:EventTarget': 1,
    'aws:sns/topicPolicy:TopicPolicy': 1,
    'aws:cloudwatch/metricAlarm:MetricAlarm': 8,
    'aws:cloudwatch/dashboard:Dashboard': 1,
    'aws:sagemaker/model:Model': 1,
    'aws:sagemaker/endpointConfiguration:EndpointConfiguration': 1,
    'aws:sagemaker/endpoint:Endpoint': 1,
    'aws:appautoscaling/target:Target': 1,
    'aws:appautoscaling/policy:Policy': 1,
  });
});

test('every resource is a child of one of the components and uses the stack-configured provider', (t) => {
  const provider = one(plan, 'pulumi:providers:aws');
  t.is(provider.inputs['region'], 'eu-west-1');
  t.deepEqual(JSON.parse(provider.inputs['defaultTags'] as string), {
    tags: { environment: 'dev', team: 'forecasting', 'forecast:project': 'forecast-fleet', 'forecast:stack': 'dev' },
  });
  const components = new Set(plan.resources.filter((r) => r.type.startsWith('forecast:infra:')).map((r) => r.urn));
  t.is(components.size, 8);
  for (const resource of plan.resources.filter((r) => r.custom && r.type.startsWith('aws:'))) {
    t.true(components.has(resource.parent ?? ''), `${resource.urn} has no component parent`);
    t.true(resource.provider?.startsWith(`${provider.urn}::`), `${resource.urn} does not use the configured provider`);
  }
});

test('the model is a MultiModel container on the digest-pinned inference image, reading s3://<bucket>/models/', (t) => {
  const model = one(plan, 'aws:sagemaker/model:Model');
  const bucket = one(plan, 'aws:s3/bucket:Bucket').outputs['bucket'];
  t.is(at(model.inputs, 'primaryContainer', 'mode'), 'MultiModel');
  t.is(at(model.inputs, 'primaryContainer', 'modelDataUrl'), `s3://${bucket}/models/`);
  t.is(at(model.inputs, 'primaryContainer', 'image'), plan.outputs['inferenceImageUri']);
  t.regex(String(plan.outputs['inferenceImageUri']), /\/forecast-fleet\/dev\/inference@sha256:[0-9a-f]{64}$/);
  t.is(model.inputs['executionRoleArn'], sagemakerRole().outputs['arn']);
  t.is(model.inputs['name'], undefined, 'a fixed model name would block replacement');
  t.is(plan.outputs['modelPrefix'], `s3://${bucket}/models/`);
});

test('the endpoint config is auto-named on ml.c5.xlarge; the endpoint rolls back on its error alarm', (t) => {
  const config = one(plan, 'aws:sagemaker/endpointConfiguration:EndpointConfiguration');
  const variant = at(config.inputs, 'productionVariants', 0);
  t.is(at(variant, 'instanceType'), 'ml.c5.xlarge');
  t.is(at(variant, 'initialInstanceCount'), 1);
  t.is(at(variant, 'modelName'), one(plan, 'aws:sagemaker/model:Model').outputs['name']);
  t.is(config.inputs['name'], undefined, 'a fixed config name would block replacement');
  const key = one(plan, 'aws:kms/key:Key');
  t.is(config.inputs['kmsKeyArn'], key.outputs['arn']);
  t.is(key.inputs['enableKeyRotation'], true);
  const endpoint = one(plan, 'aws:sagemaker/endpoint:Endpoint');
  t.is(endpoint.inputs['name'], 'forecast-fleet-dev');
  t.is(endpoint.inputs['endpointConfigName'], config.outputs['name']);
  const alarm = one(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm', 'monitoring-endpoint-errors');
  t.deepEqual(at(endpoint.inputs, 'deploymentConfig', 'autoRollbackConfiguration', 'alarms'), [{ alarmName: alarm.inputs['name'] }]);
  t.is(at(endpoint.inputs, 'deploymentConfig', 'blueGreenUpdatePolicy', 'trafficRoutingConfiguration', 'type'), 'ALL_AT_ONCE');
  t.is(plan.outputs['endpointName'], 'forecast-fleet-dev');
});

test('the endpoint scales on invocations per instance within the configured bounds', (t) => {
  const target = one(plan, 'aws:appautoscaling/target:Target');
  t.is(target.inputs['resourceId'], 'endpoint/forecast-fleet-dev/variant/all-customers');
  t.is(target.inputs['scalableDimension'], 'sagemaker:variant:DesiredInstanceCount');
  t.is(target.inputs['minCapacity'], 1);
  t.is(target.inputs['maxCapacity'], 2);
  const policy = one(plan, 'aws:appautoscaling/policy:Policy');
  t.is(policy.inputs['policyType'], 'TargetTrackingScaling');
  t.is(at(policy.inputs, 'targetTrackingScalingPolicyConfiguration', 'predefinedMetricSpecification', 'predefinedMetricType'), 'SageMakerVariantInvocationsPerInstance');
  t.is(at(policy.inputs, 'targetTrackingScalingPolicyConfiguration', 'targetValue'), 1000);
});

test('the schedule runs the pipeline task nightly in the configured time zone, with retries and a dead-letter queue', (t) => {
  const schedule = one(plan, 'aws:scheduler/schedule:Schedule');
  const target = schedule.inputs['target'];
  t.is(schedule.inputs['scheduleExpression'], 'cron(0 2 * * ? *)');
  t.is(schedule.inputs['scheduleExpressionTimezone'], 'Europe/Berlin');
  t.is(schedule.inputs['state'], 'ENABLED');
  t.is(at(target, 'arn'), one(plan, 'aws:ecs/cluster:Cluster').outputs['arn']);
  t.is(at(target, 'roleArn'), one(plan, 'aws:iam/role:Role', 'roles-scheduler').outputs['arn']);
  t.is(at(target, 'ecsParameters', 'taskDefinitionArn'), taskDefinition().outputs['arn']);
  t.is(at(target, 'ecsParameters', 'launchType'), 'FARGATE');
  t.deepEqual(at(target, 'ecsParameters', 'networkConfiguration', 'subnets'), ofType(plan, 'aws:ec2/subnet:Subnet').map((s) => s.id));
  t.deepEqual(at(target, 'ecsParameters', 'networkConfiguration', 'securityGroups'), [one(plan, 'aws:ec2/securityGroup:SecurityGroup').id]);
  t.deepEqual(at(target, 'retryPolicy'), { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 });
  t.is(at(target, 'deadLetterConfig', 'arn'), one(plan, 'aws:sqs/queue:Queue').outputs['arn']);
  t.is(plan.outputs['scheduleName'], 'forecast-fleet-dev-nightly');
});

test('the task environment is exactly what the pipeline reads, and the pipeline accepts it', (t) => {
  const names = (container()['environment'] as { name: string }[]).map((e) => e.name).sort();
  const perRunOrLocal: string[] = [PIPELINE_ENV.scheduledTime, PIPELINE_ENV.metricsDir];
  const expected = Object.values(PIPELINE_ENV).filter((name) => !perRunOrLocal.includes(name)).sort();
  t.deepEqual(names, expected);
  const config = pipelineConfig();
  t.is<unknown, unknown>(config.bucket, one(plan, 'aws:s3/bucket:Bucket').outputs['bucket']);
  t.is(config.endpointName, 'forecast-fleet-dev');
  t.deepEqual(config.metrics, { namespace: 'ForecastFleet', stack: 'dev', directory: undefined }, 'metrics go to stdout, tagged with the stack');
  t.is<unknown, unknown>(config.sagemakerRoleArn, sagemakerRole().outputs['arn']);
  t.is<unknown, unknown>(config.processing.image, plan.outputs['processingImageUri']);
  t.is<unknown, unknown>(config.training.image, plan.outputs['trainingImageUri']);
  t.is(config.training.instanceCount, 2);
  t.true(config.training.spot);
  t.deepEqual(config.training.hyperparameters, { holdout_days: '28' });
  t.is(config.scheduleTimezone, 'Europe/Berlin');
  t.is(config.jobNamePrefix, 'forecast-fleet-dev');
  // The scheduled time reaches the pipeline, so a run id is the night in the schedule's zone.
  t.is(deriveRunId(config.scheduledTime, config.scheduleTimezone), '20261126-0200');
  t.is(container()['image'], plan.outputs['pipelineImageUri']);
  t.is(at(container(), 'logConfiguration', 'options', 'awslogs-group'), one(plan, 'aws:cloudwatch/logGroup:LogGroup').inputs['name']);
});

test('the task is a Fargate task with its own roles and a log group with retention', (t) => {
  const task = taskDefinition();
  t.deepEqual(task.inputs['requiresCompatibilities'], ['FARGATE']);
  t.is(task.inputs['networkMode'], 'awsvpc');
  t.is(container()['user'], '1000:1000');
  t.is(task.inputs['cpu'], '512');
  t.is(task.inputs['memory'], '1024');
  t.is(task.inputs['taskRoleArn'], one(plan, 'aws:iam/role:Role', 'roles-pipeline-task').outputs['arn']);
  t.is(task.inputs['executionRoleArn'], one(plan, 'aws:iam/role:Role', 'roles-task-execution').outputs['arn']);
  t.is(one(plan, 'aws:cloudwatch/logGroup:LogGroup').inputs['retentionInDays'], 14);
});

test('no IAM grant uses a wildcard action; Resource "*" only where AWS has no resource-level permission (ECR token, namespace-conditioned metrics)', (t) => {
  const grantsByRole = summarizeRoleGrants(plan);
  t.deepEqual(grantsByRole.map((g) => [g.role, g.trustedBy]).sort(), [
    ['roles-pipeline-task', 'ecs-tasks.amazonaws.com'],
    ['roles-sagemaker', 'sagemaker.amazonaws.com'],
    ['roles-scheduler', 'scheduler.amazonaws.com'],
    ['roles-task-execution', 'ecs-tasks.amazonaws.com'],
  ]);
  for (const policy of ofType(plan, 'aws:iam/rolePolicy:RolePolicy')) {
    for (const statement of statementsOf(policy)) {
      t.is(statement.Effect, 'Allow');
      for (const action of list(statement.Action)) t.false(action.includes('*'), `${policy.name} ${statement.Sid} grants ${action}`);
      if (!list(statement.Resource).includes('*')) continue;
      if (list(statement.Action).includes('cloudwatch:PutMetricData')) {
        t.deepEqual(list(statement.Action), ['cloudwatch:PutMetricData'], `${policy.name} ${statement.Sid}`);
        t.deepEqual(statement.Condition, { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*'] } }, `${policy.name} ${statement.Sid}`);
      } else {
        t.deepEqual(list(statement.Action), ['ecr:GetAuthorizationToken'], `${policy.name} ${statement.Sid}`);
      }
    }
  }
});

test('the pipeline may create, describe and stop only its own jobs, and pass the SageMaker role only to SageMaker', (t) => {
  const statements = roleStatements(plan, 'roles-pipeline-task');
  const config = pipelineConfig();
  const runId = deriveRunId(config.scheduledTime, config.scheduleTimezone);
  const processing = buildProcessingJobRequest(config, runId);
  const training = buildTrainingJobRequest(config, runId, 2);
  const jobArn = (kind: string, name: string) => `arn:aws:sagemaker:eu-west-1:123456789012:${kind}/${name.toLowerCase()}`;
  for (const action of ['CreateProcessingJob', 'DescribeProcessingJob', 'StopProcessingJob']) {
    t.is(grants(statements, `sagemaker:${action}`, jobArn('processing-job', processing.ProcessingJobName ?? '')).length, 1, action);
    t.is(grants(statements, `sagemaker:${action}`, jobArn('processing-job', `other-stack-${runId}-process`)).length, 0, action);
  }
  for (const action of ['CreateTrainingJob', 'DescribeTrainingJob', 'StopTrainingJob']) {
    t.is(grants(statements, `sagemaker:${action}`, jobArn('training-job', training.TrainingJobName ?? '')).length, 1, action);
    t.is(grants(statements, `sagemaker:${action}`, jobArn('training-job', `forecast-fleet-dev2-${runId}-train`)).length, 0, `${action} of a stack sharing the name's start`);
  }
  const passRole = grants(statements, 'iam:PassRole', processing.RoleArn ?? '');
  t.is(passRole.length, 1);
  t.deepEqual(passRole[0]?.Condition, { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
  t.deepEqual(list(passRole[0]?.Resource), [sagemakerRole().outputs['arn'] as string]);
  t.is(grants(statements, 'sagemaker:InvokeEndpoint', 'arn:aws:sagemaker:eu-west-1:123456789012:endpoint/forecast-fleet-dev').length, 1);
  const bucketArn = one(plan, 'aws:s3/bucket:Bucket').outputs['arn'] as string;
  t.is(grants(statements, 's3:PutObject', `${bucketArn}/manifests/current.json`).length, 1);
  t.is(grants(statements, 's3:PutObject', `${bucketArn}/runs/${runId}/report.json`).length, 1);
  t.is(grants(statements, 's3:PutObject', `${bucketArn}/reports/${runId}.json`).length, 1, 'the lasting report copy');
  t.is(grants(statements, 's3:PutObject', `${bucketArn}/models/${runId}/0.tar.gz`).length, 0, 'only training writes models');
  t.is(grants(statements, 's3:PutObject', `${bucketArn}/raw/drop.csv`).length, 0, 'the pipeline never writes raw data');
});

test('the SageMaker role can read and write the S3 locations the pipeline sends its jobs to', (t) => {
  const statements = roleStatements(plan, 'roles-sagemaker');
  const config = pipelineConfig();
  const runId = deriveRunId(config.scheduledTime, config.scheduleTimezone);
  const processing = buildProcessingJobRequest(config, runId);
  const training = buildTrainingJobRequest(config, runId);
  const reads = [
    ...(processing.ProcessingInputs ?? []).map((input) => input.S3Input?.S3Uri ?? ''),
    ...(training.InputDataConfig ?? []).map((channel) => channel.DataSource?.S3DataSource?.S3Uri ?? ''),
    `${plan.outputs['modelPrefix']}${runId}/`,
  ];
  const writes = [
    ...(processing.ProcessingOutputConfig?.Outputs ?? []).map((output) => output.S3Output?.S3Uri ?? ''),
    training.OutputDataConfig?.S3OutputPath ?? '',
    training.CheckpointConfig?.S3Uri ?? '',
  ];
  for (const uri of reads) t.is(grants(statements, 's3:GetObject', objectArn(uri.endsWith('/') ? uri : `${uri}/`)).length, 1, `read ${uri}`);
  for (const uri of writes) t.is(grants(statements, 's3:PutObject', objectArn(uri.endsWith('/') ? uri : `${uri}/`)).length, 1, `write ${uri}`);
  const bucketArn = one(plan, 'aws:s3/bucket:Bucket').outputs['arn'] as string;
  t.is(grants(statements, 's3:PutObject', `${bucketArn}/manifests/current.json`).length, 0, 'jobs never touch the manifest');
  t.is(grants(statements, 's3:GetObject', `${bucketArn}/manifests/current.json`).length, 0);
  const repositories = ofType(plan, 'aws:ecr/repository:Repository');
  const pull = (name: string) => repositories.find((r) => r.inputs['name'] === `forecast-fleet/dev/${name}`)?.outputs['arn'] as string;
  for (const image of ['processing', 'training', 'inference']) t.is(grants(statements, 'ecr:BatchGetImage', pull(image)).length, 1, image);
  t.is(grants(statements, 'ecr:BatchGetImage', pull('pipeline')).length, 0);
});

test('the scheduler may run only the task family on its cluster and pass only the two task roles, to ECS', (t) => {
  const statements = roleStatements(plan, 'roles-scheduler');
  const cluster = one(plan, 'aws:ecs/cluster:Cluster').outputs['arn'];
  const runTask = grants(statements, 'ecs:RunTask', 'arn:aws:ecs:eu-west-1:123456789012:task-definition/forecast-fleet-dev-pipeline:7');
  t.is(runTask.length, 1);
  t.deepEqual(runTask[0]?.Condition, { ArnEquals: { 'ecs:cluster': cluster } });
  t.is(grants(statements, 'ecs:RunTask', 'arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1').length, 0);
  const passRole = statements.filter((s: Statement) => list(s.Action).includes('iam:PassRole'));
  t.is(passRole.length, 1);
  t.deepEqual(
    list(passRole[0]?.Resource).sort(),
    [one(plan, 'aws:iam/role:Role', 'roles-pipeline-task').outputs['arn'], one(plan, 'aws:iam/role:Role', 'roles-task-execution').outputs['arn']].sort(),
  );
  t.deepEqual(passRole[0]?.Condition, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
  t.is(grants(statements, 'sqs:SendMessage', one(plan, 'aws:sqs/queue:Queue').outputs['arn'] as string).length, 1);
});

test('every role trusts its one service only on behalf of this account, and only for its source where the service sets one', (t) => {
  const trust = (role: string) => statementsOf(one(plan, 'aws:iam/role:Role', role), 'assumeRolePolicy')[0]?.Condition;
  const account = { StringEquals: { 'aws:SourceAccount': '123456789012' } };
  t.deepEqual(trust('roles-sagemaker'), account);
  t.deepEqual(trust('roles-task-execution'), account);
  t.deepEqual(trust('roles-pipeline-task'), { ...account, ArnLike: { 'aws:SourceArn': 'arn:aws:ecs:eu-west-1:123456789012:*' } });
  t.deepEqual(trust('roles-scheduler'), { ...account, ArnLike: { 'aws:SourceArn': 'arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default' } });
});

test('the pipeline\'s job grants match no job of a sibling stack whose name extends this one (dev-2, dev2, dev-<run id>)', (t) => {
  const statements = roleStatements(plan, 'roles-pipeline-task');
  const runId = '20261126-0200';
  const jobArn = (kind: string, name: string) => `arn:aws:sagemaker:eu-west-1:123456789012:${kind}/${name}`;
  for (const [kind, step, action] of [['processing-job', 'process', 'sagemaker:CreateProcessingJob'], ['training-job', 'train', 'sagemaker:CreateTrainingJob']] as const) {
    for (const attempt of ['', '-r2', '-r20']) t.is(grants(statements, action, jobArn(kind, `forecast-fleet-dev-${runId}-${step}${attempt}`)).length, 1, `${step}${attempt}`);
    for (const sibling of ['dev-2', 'dev2', 'dev-20261126-0200', 'dev-12345678-1234', 'dev-abc', 'dev-ab', 'dev-a']) {
      for (const attempt of ['', '-r2', '-r20']) {
        t.is(grants(statements, action, jobArn(kind, `forecast-fleet-${sibling}-${runId}-${step}${attempt}`)).length, 0, `${sibling} ${step}${attempt}`);
      }
    }
  }
});

test('ECS may pull only the pipeline image and write only to the pipeline log group', (t) => {
  const statements = roleStatements(plan, 'roles-task-execution');
  const logGroup = one(plan, 'aws:cloudwatch/logGroup:LogGroup').outputs['arn'] as string;
  t.is(grants(statements, 'logs:PutLogEvents', `${logGroup}:log-stream:pipeline/pipeline/0123abcd`).length, 1);
  t.is(grants(statements, 'logs:PutLogEvents', 'arn:aws:logs:eu-west-1:123456789012:log-group:/other:log-stream:x').length, 0);
  const repositories = ofType(plan, 'aws:ecr/repository:Repository');
  for (const repository of repositories) {
    const expected = repository.inputs['name'] === 'forecast-fleet/dev/pipeline' ? 1 : 0;
    t.is(grants(statements, 'ecr:BatchGetImage', repository.outputs['arn'] as string).length, expected, String(repository.inputs['name']));
  }
});

test('the bucket is versioned, encrypted, private, owner-enforced and TLS-only, with expiry for runs and old versions', (t) => {
  t.is(at(one(plan, 'aws:s3/bucketVersioning:BucketVersioning').inputs, 'versioningConfiguration', 'status'), 'Enabled');
  t.is(at(one(plan, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs, 'rules', 0, 'applyServerSideEncryptionByDefault', 'sseAlgorithm'), 'AES256');
  const block = one(plan, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs;
  for (const flag of ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets']) t.is(block[flag], true, flag);
  t.is(at(one(plan, 'aws:s3/bucketOwnershipControls:BucketOwnershipControls').inputs, 'rule', 'objectOwnership'), 'BucketOwnerEnforced');
  const [deny] = statementsOf(one(plan, 'aws:s3/bucketPolicy:BucketPolicy'));
  t.is(deny?.Effect, 'Deny');
  t.deepEqual(deny?.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
  const bucketArn = one(plan, 'aws:s3/bucket:Bucket').outputs['arn'];
  t.deepEqual(list(deny?.Resource), [bucketArn, `${bucketArn}/*`]);
  const rules = one(plan, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs['rules'] as Record<string, unknown>[];
  const runs = rules.find((rule) => at(rule, 'filter', 'prefix') === 'runs/');
  t.is(at(runs, 'expiration', 'days'), 14);
  t.true(rules.some((rule) => at(rule, 'noncurrentVersionExpiration', 'noncurrentDays') === 7), 'noncurrentVersionDays sets how long erased data stays in old versions');
  t.false(rules.some((rule) => String(at(rule, 'filter', 'prefix') ?? '').startsWith('models/')), 'models are never expired by lifecycle: the pipeline cleanup keeps those a kept manifest points at');
  const currentObjectsExpire = rules.filter((rule) => at(rule, 'expiration', 'days') !== undefined);
  t.false(
    currentObjectsExpire.some((rule) => 'reports/x.json'.startsWith(String(at(rule, 'filter', 'prefix') ?? ''))),
    'no rule expires the lasting reports/ copies',
  );
});

test('images are built from the repository root for linux/amd64 into scanned repositories with a lifecycle policy', (t) => {
  const images = ofType(plan, 'docker-build:index:Image');
  t.deepEqual(images.map((i) => i.inputs['target']).sort(), ['inference', 'pipeline', 'processing', 'training']);
  for (const image of images) {
    t.deepEqual(image.inputs['platforms'], ['linux/amd64']);
    t.deepEqual(image.inputs['context'], { location: '.' });
    t.deepEqual(image.inputs['dockerfile'], { location: 'containers/Dockerfile' });
    const repository = one(plan, 'aws:ecr/repository:Repository', image.name);
    t.deepEqual(at(repository.inputs, 'imageTagMutabilityExclusionFilters', 0, 'filter'), '*-container');
    t.is(at(repository.inputs, 'imageScanningConfiguration', 'scanOnPush'), true);
    const lifecycle = one(plan, 'aws:ecr/lifecyclePolicy:LifecyclePolicy', image.name);
    t.is(at(JSON.parse(lifecycle.inputs['policy'] as string), 'rules', 0, 'selection', 'tagStatus'), 'untagged');
    t.deepEqual(at(image.inputs, 'registries', 0, 'address'), repository.outputs['repositoryUrl']);
  }
});

test('each target has its own image resource and tag, so one Dockerfile builds four images without a duplicate URN (pulumi-awsx#1171)', (t) => {
  const images = ofType(plan, 'docker-build:index:Image');
  t.is(new Set(images.map((i) => i.urn)).size, 4);
  const tags = images.map((i) => (i.inputs['tags'] as string[])[0] ?? '');
  t.is(new Set(tags).size, 4);
  for (const image of images) {
    const repository = one(plan, 'aws:ecr/repository:Repository', image.name);
    t.deepEqual(image.inputs['tags'], [`${String(repository.outputs['repositoryUrl'])}:${String(image.inputs['target'])}-container`]);
    t.deepEqual(image.inputs['cacheFrom'], [{ registry: { ref: `${String(repository.outputs['repositoryUrl'])}:${String(image.inputs['target'])}-container` } }]);
  }
});

test('images are pushed with Docker V2 schema 2 manifests, which SageMaker requires, not OCI ones', (t) => {
  for (const image of ofType(plan, 'docker-build:index:Image')) {
    t.is(image.inputs['push'], false, `${image.name}: push:true would add a second export with the builder's default media types`);
    t.deepEqual(at(image.inputs, 'exports'), [{ registry: { ociMediaTypes: false } }], image.name);
  }
  for (const output of ['processingImageUri', 'trainingImageUri', 'inferenceImageUri', 'pipelineImageUri']) {
    t.regex(String(plan.outputs[output]), /^\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/forecast-fleet\/dev\/[a-z]+@sha256:[0-9a-f]{64}$/, output);
  }
});

test('every image target is a stage of the Dockerfile in the build context', async (t) => {
  const images = ofType(plan, 'docker-build:index:Image');
  const [first] = images;
  const dockerfile = await readFile(path.join(PROJECT_DIR, String(at(first?.inputs, 'dockerfile', 'location'))), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gim)].map((match) => match[1]);
  for (const image of images) t.true(stages.includes(String(image.inputs['target'])), `no stage ${String(image.inputs['target'])} in ${stages.join(', ')}`);
});

test('alarms on pipeline failures, endpoint errors, model loading wait and the dead-letter queue notify one topic', (t) => {
  const topic = one(plan, 'aws:sns/topic:Topic').outputs['arn'];
  const alarms = ofType(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm');
  t.deepEqual(alarms.map((a) => `${a.inputs['namespace']} ${a.inputs['metricName']}`).sort(), [
    'AWS/Events TriggeredRules',
    'AWS/SQS ApproximateNumberOfMessagesVisible',
    'AWS/SageMaker Invocation5XXErrors',
    'AWS/SageMaker ModelLoadingWaitTime',
    'ForecastFleet CustomersStale',
    'ForecastFleet QuarantinedShare',
    'ForecastFleet RejectedOrFailedShare',
    'ForecastFleet RunSucceeded',
  ]);
  for (const alarm of alarms) t.deepEqual(alarm.inputs['alarmActions'], [topic]);
  t.is(at(one(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm', 'monitoring-model-loading-wait').inputs, 'threshold'), 5_000_000);
  t.is(ofType(plan, 'aws:sns/topicSubscription:TopicSubscription').length, 0, 'dev sets no alarm e-mail');
});

test('the pipeline-failure alarm can fire: a per-rule metric, a rule with a target, tasks that never start caught', (t) => {
  const rule = one(plan, 'aws:cloudwatch/eventRule:EventRule');
  const pattern = JSON.parse(rule.inputs['eventPattern'] as string);
  t.deepEqual(at(pattern, 'detail', 'group'), ['family:forecast-fleet-dev-pipeline']);
  t.deepEqual(at(pattern, 'detail', 'clusterArn'), [one(plan, 'aws:ecs/cluster:Cluster').outputs['arn']]);
  t.deepEqual(at(pattern, 'detail', 'lastStatus'), ['STOPPED']);
  t.deepEqual(at(pattern, 'detail', '$or'), [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }]);
  // AWS/Events MatchedEvents has no RuleName dimension; TriggeredRules does.
  const alarm = one(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm', 'monitoring-pipeline-failed');
  t.is(alarm.inputs['metricName'], 'TriggeredRules');
  t.deepEqual(alarm.inputs['dimensions'], { RuleName: rule.outputs['name'] });
  const target = one(plan, 'aws:cloudwatch/eventTarget:EventTarget');
  const topic = one(plan, 'aws:sns/topic:Topic');
  t.is(target.inputs['rule'], rule.outputs['name']);
  t.is(target.inputs['arn'], topic.outputs['arn']);
  t.regex(String(at(target.inputs, 'inputTransformer', 'inputTemplate')), /<stopCode>.*<reason>/);
  const [publish] = statementsOf(one(plan, 'aws:sns/topicPolicy:TopicPolicy'));
  t.deepEqual(publish?.Condition, { ArnEquals: { 'aws:SourceArn': rule.outputs['arn'] }, StringEquals: { 'aws:SourceAccount': '123456789012' } });
  t.deepEqual(list(publish?.Action), ['sns:Publish']);
  t.true(target.dependencies.includes(one(plan, 'aws:sns/topicPolicy:TopicPolicy').urn), 'the topic accepts the rule before the target exists');
});

test('a blue/green endpoint update finishes well inside the provider\'s fixed wait, with both waits inside SageMaker\'s timeout', (t) => {
  const policy = at(one(plan, 'aws:sagemaker/endpoint:Endpoint').inputs, 'deploymentConfig', 'blueGreenUpdatePolicy');
  const maximum = at(policy, 'maximumExecutionTimeoutInSeconds') as number;
  const waits = (at(policy, 'trafficRoutingConfiguration', 'waitIntervalInSeconds') as number) + (at(policy, 'terminationWaitInSeconds') as number);
  t.true(maximum <= 2400, `maximumExecutionTimeoutInSeconds ${maximum}`);
  t.true(maximum >= 600, 'SageMaker accepts 600-14400 s');
  t.true(waits < maximum, `waits ${waits} s must fit in ${maximum} s`);
});

test('names are within AWS limits and patterns', (t) => {
  const limits: [type: string, property: string, max: number, pattern?: RegExp][] = [
    ['aws:s3/bucket:Bucket', 'bucket', 63, /^[a-z0-9][a-z0-9.-]+[a-z0-9]$/],
    ['aws:iam/role:Role', 'name', 64, /^[\w+=,.@-]+$/],
    ['aws:iam/rolePolicy:RolePolicy', 'name', 128],
    ['aws:sagemaker/model:Model', 'name', 63, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/],
    ['aws:sagemaker/endpointConfiguration:EndpointConfiguration', 'name', 63, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/],
    ['aws:sagemaker/endpoint:Endpoint', 'name', 63, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/],
    ['aws:ecr/repository:Repository', 'name', 256, /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/],
    ['aws:ecs/cluster:Cluster', 'name', 255],
    ['aws:ecs/taskDefinition:TaskDefinition', 'family', 255, /^[a-zA-Z0-9_-]+$/],
    ['aws:cloudwatch/logGroup:LogGroup', 'name', 512],
    ['aws:sqs/queue:Queue', 'name', 80, /^[a-zA-Z0-9_-]+$/],
    ['aws:scheduler/schedule:Schedule', 'name', 64, /^[0-9a-zA-Z-_.]+$/],
    ['aws:sns/topic:Topic', 'name', 256],
    ['aws:cloudwatch/eventRule:EventRule', 'name', 64],
    ['aws:cloudwatch/metricAlarm:MetricAlarm', 'name', 255],
    ['aws:kms/alias:Alias', 'name', 256, /^alias\/[a-zA-Z0-9/_-]+$/],
  ];
  for (const [type, property, max, pattern] of limits) {
    const resources = ofType(plan, type);
    t.true(resources.length > 0, type);
    for (const resource of resources) {
      const name = String(resource.outputs[property]);
      t.true(name.length <= max, `${resource.urn} ${property} "${name}" is longer than ${max}`);
      if (pattern !== undefined) t.regex(name, pattern, `${resource.urn} ${property}`);
    }
  }
  // The longest job name the pipeline derives keeps the whole run id within SageMaker's 63 characters.
  const config = pipelineConfig();
  const runId = deriveRunId(DateTime.fromISO('2026-12-31T23:59:00Z'), 'Europe/Berlin');
  const longest = buildProcessingJobRequest(config, runId, 99).ProcessingJobName ?? '';
  t.is(longest, `forecast-fleet-dev-${runId}-process-r99`);
  t.true(longest.length <= 63);
});

test('dependencies are recorded as the engine sees them', (t) => {
  const urn = (type: string, name?: string) => one(plan, type, name).urn;
  const policy = one(plan, 'aws:s3/bucketPolicy:BucketPolicy');
  t.true(policy.dependencies.includes(urn('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock')));
  t.deepEqual(policy.propertyDependencies['bucket'], [urn('aws:s3/bucket:Bucket')]);
  t.true(one(plan, 'aws:sagemaker/model:Model').dependencies.includes(urn('aws:iam/rolePolicy:RolePolicy', 'roles-sagemaker')));
  t.true(one(plan, 'aws:scheduler/schedule:Schedule').dependencies.includes(urn('aws:iam/rolePolicy:RolePolicy', 'roles-scheduler')));
  t.deepEqual(taskDefinition().propertyDependencies['taskRoleArn'], [urn('aws:iam/role:Role', 'roles-pipeline-task')]);
  t.is(arnMatches('arn:aws:s3:::b/runs/*', 'arn:aws:s3:::b/runs/x/y'), true);
});

test('stack outputs name everything a user needs, including the forecast command', (t) => {
  t.deepEqual(Object.keys(plan.outputs).sort(), [
    'alarmTopicArn',
    'bucketName',
    'dashboardName',
    'endpointName',
    'forecastCommand',
    'inferenceImageUri',
    'manifestKey',
    'modelPrefix',
    'pipelineImageUri',
    'processingImageUri',
    'scheduleName',
    'trainingImageUri',
  ]);
  t.is(plan.outputs['manifestKey'], 'manifests/current.json');
  t.is(
    plan.outputs['forecastCommand'],
    `AWS_REGION=eu-west-1 npm run forecast -- --bucket ${plan.outputs['bucketName']} --endpoint forecast-fleet-dev --customer 0 --period 7`,
  );
});
