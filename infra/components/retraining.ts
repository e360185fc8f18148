import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { PIPELINE_ENV, type PipelineEnvKey } from '../../runtime/config/pipeline-env.js';
import type { StackConfig } from '../config.js';

export const PIPELINE_CONTAINER = 'pipeline';
export const PIPELINE_USER = '1000:1000';
/** EventBridge Scheduler's context attribute: the time the run was scheduled for. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

/**
 * The pipeline's environment, one value per name the pipeline reads (`PIPELINE_ENV`). Two names are
 * left out: the scheduled time, which the scheduler fills in per run (see `scheduledRunOverrides`),
 * and the metrics folder, which only local mode sets (on AWS the records go to stdout).
 * Typed over every key, so a name added to `PIPELINE_ENV` fails the build until it is set here.
 */
export type PipelineEnvironment = Readonly<Record<Exclude<PipelineEnvKey, 'scheduledTime' | 'metricsDir'>, pulumi.Input<string>>>;

export function containerEnvironment(environment: PipelineEnvironment): { name: string; value: pulumi.Input<string> }[] {
  return (Object.keys(environment) as (keyof PipelineEnvironment)[])
    .sort()
    .map((key) => ({ name: PIPELINE_ENV[key], value: environment[key] }));
}

/** The RunTask overrides the schedule sends with each run: the scheduled time, for the run id. */
export function scheduledRunOverrides(): string {
  return JSON.stringify({
    containerOverrides: [{ name: PIPELINE_CONTAINER, environment: [{ name: PIPELINE_ENV.scheduledTime, value: SCHEDULED_TIME_PLACEHOLDER }] }],
  });
}

export interface RetrainingArgs {
  readonly clusterName: string;
  readonly taskFamily: string;
  readonly logGroupName: string;
  readonly deadLetterQueueName: string;
  readonly scheduleName: string;
  readonly region: string;
  readonly imageUri: pulumi.Input<string>;
  readonly environment: PipelineEnvironment;
  readonly taskRoleArn: pulumi.Input<string>;
  readonly executionRoleArn: pulumi.Input<string>;
  readonly schedulerRoleArn: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<string[]>;
  readonly securityGroupIds: pulumi.Input<string[]>;
  readonly pipeline: StackConfig['pipeline'];
  readonly schedule: StackConfig['schedule'];
  readonly logRetentionDays: number;
  /** Role policies that must be in place before the scheduler can start a task. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * Nightly retraining: an ECS cluster, the Fargate task that runs one pipeline run, its log group,
 * and an EventBridge Scheduler schedule (in the stack's time zone) that starts it, retries a failed
 * start and sends what it could not deliver to a dead-letter queue.
 */
export class Retraining extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly taskDefinition: aws.ecs.TaskDefinition;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly schedule: aws.scheduler.Schedule;

  constructor(name: string, args: RetrainingArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Retraining', name, {}, opts);
    const parent = { parent: this };

    this.cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      { name: args.clusterName, settings: [{ name: 'containerInsights', value: 'enabled' }] },
      parent,
    );
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: args.logGroupName, retentionInDays: args.logRetentionDays },
      parent,
    );
    this.taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: args.taskFamily,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(args.pipeline.cpu),
        memory: String(args.pipeline.memoryMiB),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        taskRoleArn: args.taskRoleArn,
        executionRoleArn: args.executionRoleArn,
        containerDefinitions: pulumi.jsonStringify([
          {
            name: PIPELINE_CONTAINER,
            image: args.imageUri,
            essential: true,
            // Never root: uid/gid 1000 needs no account in the image (the node images name it "node").
            user: PIPELINE_USER,
            environment: containerEnvironment(args.environment),
            logConfiguration: {
              logDriver: 'awslogs',
              options: {
                'awslogs-group': this.logGroup.name,
                'awslogs-region': args.region,
                'awslogs-stream-prefix': PIPELINE_CONTAINER,
              },
            },
          },
        ]),
      },
      parent,
    );
    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      { name: args.deadLetterQueueName, sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 24 * 3600 },
      parent,
    );
    this.schedule = new aws.scheduler.Schedule(
      `${name}-nightly`,
      {
        name: args.scheduleName,
        description: 'Nightly retraining: one pipeline run',
        scheduleExpression: args.schedule.expression,
        scheduleExpressionTimezone: args.schedule.timezone,
        state: args.schedule.enabled ? 'ENABLED' : 'DISABLED',
        flexibleTimeWindow: { mode: 'OFF' },
        target: {
          arn: this.cluster.arn,
          roleArn: args.schedulerRoleArn,
          ecsParameters: {
            taskDefinitionArn: this.taskDefinition.arn,
            launchType: 'FARGATE',
            platformVersion: 'LATEST',
            taskCount: 1,
            propagateTags: 'TASK_DEFINITION',
            networkConfiguration: {
              subnets: args.subnetIds,
              securityGroups: args.securityGroupIds,
              // Public subnets without NAT: the task needs a public address to reach ECR and AWS APIs.
              assignPublicIp: true,
            },
          },
          input: scheduledRunOverrides(),
          retryPolicy: { maximumRetryAttempts: args.schedule.retryAttempts, maximumEventAgeInSeconds: args.schedule.maxEventAgeSeconds },
          deadLetterConfig: { arn: this.deadLetterQueue.arn },
        },
      },
      { parent: this, dependsOn: args.dependsOn === undefined ? [] : [...args.dependsOn] },
    );
    this.registerOutputs({
      clusterArn: this.cluster.arn,
      taskDefinitionArn: this.taskDefinition.arn,
      scheduleName: this.schedule.name,
      deadLetterQueueArn: this.deadLetterQueue.arn,
    });
  }
}
