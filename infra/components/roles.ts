import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BUCKET_LAYOUT } from '../bucket-layout.js';
import { arn, assumeRolePolicy, policyDocument, policyJson, type AccountContext, type PolicyDocument } from '../iam.js';
import type { StackNames } from '../naming.js';
import { MAX_JOB_ATTEMPTS } from '../../runtime/pipeline/jobs.js';
import { jobNamePatterns } from '../../runtime/pipeline/run-id.js';

/** Everything the roles' policies point at. */
export interface RoleTargets {
  readonly bucketArn: pulumi.Input<string>;
  /** Repositories SageMaker pulls from (processing, training, inference). */
  readonly sagemakerRepositoryArns: readonly pulumi.Input<string>[];
  readonly pipelineRepositoryArn: pulumi.Input<string>;
  readonly endpointArn: pulumi.Input<string>;
  /** Every name the pipeline gives its processing jobs, and no other stack's (run-id.ts). */
  readonly processingJobArns: readonly pulumi.Input<string>[];
  readonly trainingJobArns: readonly pulumi.Input<string>[];
  /** What ECS tasks and schedules of this account and region are (trust policies' `aws:SourceArn`). */
  readonly ecsSourceArn: pulumi.Input<string>;
  readonly scheduleGroupArn: pulumi.Input<string>;
  readonly sagemakerLogGroupArns: readonly pulumi.Input<string>[];
  readonly pipelineLogGroupArn: pulumi.Input<string>;
  readonly clusterArn: pulumi.Input<string>;
  /** Any revision of the pipeline's task family. */
  readonly taskFamilyArn: pulumi.Input<string>;
  readonly clusterTasksArn: pulumi.Input<string>;
  readonly deadLetterQueueArn: pulumi.Input<string>;
  /** The key that encrypts the endpoint instances' storage volumes. */
  readonly endpointKeyArn: pulumi.Input<string>;
}

/** The ARNs the stack's fixed names imply (see naming.ts: they exist before the resources do). */
export function roleTargets(
  context: AccountContext,
  names: StackNames,
  resources: {
    bucketArn: pulumi.Input<string>;
    sagemakerRepositoryArns: readonly pulumi.Input<string>[];
    pipelineRepositoryArn: pulumi.Input<string>;
    endpointKeyArn: pulumi.Input<string>;
  },
): RoleTargets {
  // SageMaker writes resource names in ARNs in lowercase; the names here are lowercase already.
  // The group itself (CreateLogGroup is evaluated on `log-group:<name>`, which `:*` does not match)
  // and its streams (`log-group:<name>:log-stream:…`).
  const sagemakerLogGroup = (group: string) => [
    arn(context, 'logs', `log-group:/aws/sagemaker/${group}`),
    arn(context, 'logs', `log-group:/aws/sagemaker/${group}:*`),
  ];
  return {
    ...resources,
    endpointArn: arn(context, 'sagemaker', `endpoint/${names.endpoint}`),
    processingJobArns: jobNamePatterns(names.jobNamePrefix, 'process', MAX_JOB_ATTEMPTS).map((name) => arn(context, 'sagemaker', `processing-job/${name}`)),
    trainingJobArns: jobNamePatterns(names.jobNamePrefix, 'train', MAX_JOB_ATTEMPTS).map((name) => arn(context, 'sagemaker', `training-job/${name}`)),
    ecsSourceArn: arn(context, 'ecs', '*'),
    // The schedule is in the default group; Scheduler names the group, not the schedule, as source.
    scheduleGroupArn: arn(context, 'scheduler', 'schedule-group/default'),
    sagemakerLogGroupArns: [...sagemakerLogGroup('ProcessingJobs'), ...sagemakerLogGroup('TrainingJobs'), ...sagemakerLogGroup(`Endpoints/${names.endpoint}`)],
    pipelineLogGroupArn: arn(context, 'logs', `log-group:${names.pipelineLogGroup}:*`),
    clusterArn: arn(context, 'ecs', `cluster/${names.cluster}`),
    taskFamilyArn: arn(context, 'ecs', `task-definition/${names.taskFamily}:*`),
    clusterTasksArn: arn(context, 'ecs', `task/${names.cluster}/*`),
    deadLetterQueueArn: arn(context, 'sqs', names.deadLetterQueue),
  };
}

/** Where SageMaker puts job and endpoint metrics (`/aws/sagemaker/TrainingJobs`, `…/Endpoints`, …). */
export const SAGEMAKER_METRIC_NAMESPACES = ['/aws/sagemaker/*'];

const ECR_PULL_ACTIONS = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const ECR_AUTH_STATEMENT = {
  // ecr:GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
  Sid: 'EcrAuthorizationTokenAwsRequiresStar',
  Effect: 'Allow',
  Action: ['ecr:GetAuthorizationToken'],
  Resource: '*',
} as const;

function objects(bucketArn: pulumi.Input<string>, ...prefixes: string[]): pulumi.Output<string>[] {
  return prefixes.map((prefix) => pulumi.interpolate`${bucketArn}/${prefix}*`);
}

function listPrefixes(sid: string, bucketArn: pulumi.Input<string>, ...prefixes: string[]) {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: bucketArn,
    Condition: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
  } as const;
}

/** What processing, training and the endpoint's containers need: their prefixes, images and logs. */
export function sagemakerExecutionPolicy(t: RoleTargets): PolicyDocument {
  const { raw, runs, models } = BUCKET_LAYOUT;
  return policyDocument([
    listPrefixes('ListOwnPrefixes', t.bucketArn, raw, runs, models),
    { Sid: 'ReadInputsAndModels', Effect: 'Allow', Action: ['s3:GetObject'], Resource: objects(t.bucketArn, raw, runs, models) },
    // Processing writes runs/<run>/…; training uploads each model from /opt/ml/checkpoints to models/<run>/.
    { Sid: 'WriteRunsAndCheckpoints', Effect: 'Allow', Action: ['s3:PutObject'], Resource: objects(t.bucketArn, runs, models) },
    { Sid: 'PullImages', Effect: 'Allow', Action: ECR_PULL_ACTIONS, Resource: t.sagemakerRepositoryArns },
    ECR_AUTH_STATEMENT,
    {
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      Resource: t.sagemakerLogGroupArns,
    },
    {
      // AWS requires it of a training job's role; PutMetricData has no resource-level permissions,
      // so the namespace condition is what scopes it: SageMaker's own namespaces only.
      Sid: 'PutSageMakerMetricsAwsRequiresStar',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricData'],
      Resource: '*',
      Condition: { StringLike: { 'cloudwatch:namespace': SAGEMAKER_METRIC_NAMESPACES } },
    },
    {
      Sid: 'EncryptEndpointVolumes',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: t.endpointKeyArn,
    },
    {
      // SageMaker attaches the encrypted volumes through a grant, and only for AWS resources.
      Sid: 'GrantEndpointVolumesOnly',
      Effect: 'Allow',
      Action: ['kms:CreateGrant'],
      Resource: t.endpointKeyArn,
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    },
  ]);
}

/** What one pipeline run does: start and watch its own jobs, validate on the endpoint, publish the manifest. */
export function pipelineTaskPolicy(t: RoleTargets, sagemakerRoleArn: pulumi.Input<string>): PolicyDocument {
  const { raw, runs, models, manifests, reports } = BUCKET_LAYOUT;
  return policyDocument([
    {
      Sid: 'OwnProcessingJobs',
      Effect: 'Allow',
      Action: ['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob'],
      Resource: t.processingJobArns,
    },
    {
      Sid: 'OwnTrainingJobs',
      Effect: 'Allow',
      Action: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'],
      Resource: t.trainingJobArns,
    },
    { Sid: 'ValidateOnOwnEndpoint', Effect: 'Allow', Action: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint'], Resource: t.endpointArn },
    {
      Sid: 'PassSageMakerRoleToSageMakerOnly',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: sagemakerRoleArn,
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    },
    listPrefixes('ListOwnPrefixes', t.bucketArn, raw, runs, models, manifests),
    { Sid: 'ReadRunsModelsManifests', Effect: 'Allow', Action: ['s3:GetObject'], Resource: objects(t.bucketArn, runs, models, manifests) },
    // Reports go to runs/<run>/report.json (expires with runs/) and reports/<run>.json (kept), manifests to manifests/.
    { Sid: 'WriteReportsAndManifests', Effect: 'Allow', Action: ['s3:PutObject'], Resource: objects(t.bucketArn, runs, manifests, reports) },
    // The cleanup step deletes what is past the retention and referenced by no kept manifest.
    { Sid: 'CleanUpPastRetention', Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: objects(t.bucketArn, runs, models, BUCKET_LAYOUT.manifestHistory) },
  ]);
}

/** What ECS needs to start the pipeline's container: pull its image and ship its logs. */
export function taskExecutionPolicy(t: RoleTargets): PolicyDocument {
  return policyDocument([
    { Sid: 'PullPipelineImage', Effect: 'Allow', Action: ECR_PULL_ACTIONS, Resource: t.pipelineRepositoryArn },
    ECR_AUTH_STATEMENT,
    { Sid: 'WritePipelineLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: t.pipelineLogGroupArn },
  ]);
}

/** What EventBridge Scheduler needs to start the nightly task (AWS: "Amazon ECS EventBridge IAM role"). */
export function schedulerPolicy(t: RoleTargets, taskRoleArns: readonly pulumi.Input<string>[]): PolicyDocument {
  return policyDocument([
    {
      Sid: 'RunPipelineTaskOnOwnCluster',
      Effect: 'Allow',
      Action: ['ecs:RunTask'],
      Resource: t.taskFamilyArn,
      Condition: { ArnEquals: { 'ecs:cluster': t.clusterArn } },
    },
    {
      Sid: 'TagStartedTasks',
      Effect: 'Allow',
      Action: ['ecs:TagResource'],
      Resource: t.clusterTasksArn,
      Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
    },
    {
      Sid: 'PassTaskRolesToEcsOnly',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: taskRoleArns,
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    },
    { Sid: 'DeadLetterUndeliveredRuns', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: t.deadLetterQueueArn },
  ]);
}

export interface RolesArgs {
  readonly context: AccountContext;
  readonly targets: RoleTargets;
}

/**
 * The stack's four roles, each trusted by one service and granted only what its work needs, as an
 * inline policy (not the deprecated `inlinePolicies`/`managedPolicyArns` role arguments).
 */
export class Roles extends pulumi.ComponentResource {
  readonly sagemakerExecution: aws.iam.Role;
  readonly pipelineTask: aws.iam.Role;
  readonly taskExecution: aws.iam.Role;
  readonly scheduler: aws.iam.Role;
  readonly policies: Readonly<Record<'sagemakerExecution' | 'pipelineTask' | 'taskExecution' | 'scheduler', aws.iam.RolePolicy>>;

  constructor(name: string, args: RolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Roles', name, {}, opts);
    const { context, targets } = args;
    const role = (suffix: string, service: string, description: string, sourceArn?: pulumi.Input<string>) =>
      new aws.iam.Role(
        `${name}-${suffix}`,
        { description, assumeRolePolicy: policyJson(assumeRolePolicy(service, context.accountId, sourceArn)) },
        { parent: this },
      );
    const inline = (suffix: string, target: aws.iam.Role, document: PolicyDocument) =>
      new aws.iam.RolePolicy(`${name}-${suffix}`, { role: target.id, policy: policyJson(document) }, { parent: this });

    // aws:SourceArn only where the service's documentation names the source it sets: ECS for task
    // roles (any task of this account and region), Scheduler (the schedule group).
    this.sagemakerExecution = role('sagemaker', 'sagemaker.amazonaws.com', 'SageMaker processing, training and the multi-model endpoint');
    this.pipelineTask = role('pipeline-task', 'ecs-tasks.amazonaws.com', 'The nightly pipeline task', targets.ecsSourceArn);
    this.taskExecution = role('task-execution', 'ecs-tasks.amazonaws.com', 'ECS starting the pipeline task');
    this.scheduler = role('scheduler', 'scheduler.amazonaws.com', 'EventBridge Scheduler starting the nightly task', targets.scheduleGroupArn);

    this.policies = Object.freeze({
      sagemakerExecution: inline('sagemaker', this.sagemakerExecution, sagemakerExecutionPolicy(targets)),
      pipelineTask: inline('pipeline-task', this.pipelineTask, pipelineTaskPolicy(targets, this.sagemakerExecution.arn)),
      taskExecution: inline('task-execution', this.taskExecution, taskExecutionPolicy(targets)),
      scheduler: inline('scheduler', this.scheduler, schedulerPolicy(targets, [this.pipelineTask.arn, this.taskExecution.arn])),
    });
    this.registerOutputs({
      sagemakerExecutionRoleArn: this.sagemakerExecution.arn,
      pipelineTaskRoleArn: this.pipelineTask.arn,
      taskExecutionRoleArn: this.taskExecution.arn,
      schedulerRoleArn: this.scheduler.arn,
    });
  }
}
