import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { METRIC_DIMENSIONS, METRIC_NAMES } from '../../runtime/config/metric-names.js';
import { dashboardBody } from './dashboard.js';

export interface MonitoringArgs {
  readonly alarmName: (what: string) => string;
  readonly alarmEmail: string | undefined;
  readonly endpointName: string;
  readonly variantName: string;
  readonly modelLoadingWaitAlarmMicros: number;
  readonly clusterArn: pulumi.Input<string>;
  readonly taskFamily: string;
  readonly deadLetterQueueName: pulumi.Input<string>;
  readonly accountId: pulumi.Input<string>;
  /** The pipeline's own metrics (names in `metric-names.ts`) and the alarms on them. */
  readonly nightly: NightlyAlarmArgs;
}

export interface NightlyAlarmArgs {
  readonly region: string;
  readonly metricsNamespace: string;
  /** The metrics' `Stack` dimension: the Pulumi stack's name. */
  readonly stack: string;
  readonly dashboardName: string;
  readonly pipelineLogGroup: string;
  readonly rejectedShareThreshold: number;
  readonly quarantinedShareThreshold: number;
}

/** A night counts as missed when no run succeeded in this many hours (a day plus slack for a long run). */
export const MISSED_NIGHT_HOURS = 26;

/**
 * ECS task state changes of the pipeline's family that stopped a failed run: a container exited
 * with a non-zero code, or the task never started (`TaskFailedToStart`: image pull, network or
 * role problems leave no exit code at all).
 */
export function pipelineFailurePattern(clusterArn: string, taskFamily: string) {
  return {
    source: ['aws.ecs'],
    'detail-type': ['ECS Task State Change'],
    detail: {
      clusterArn: [clusterArn],
      group: [`family:${taskFamily}`],
      lastStatus: ['STOPPED'],
      $or: [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }],
    },
  };
}

/** What the failure rule sends the alarm topic: the task, how it stopped and why, readable in an e-mail. */
export const PIPELINE_FAILURE_MESSAGE = {
  inputPaths: { task: '$.detail.taskArn', stopCode: '$.detail.stopCode', reason: '$.detail.stoppedReason' },
  inputTemplate: '"The nightly pipeline task <task> stopped (<stopCode>): <reason>"',
} as const;

/** Lets EventBridge publish to the alarm topic for this rule only (confused-deputy guard). */
export function topicPolicyForRule(topicArn: string, ruleArn: string, accountId: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PipelineFailureRulePublishes',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topicArn,
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn }, StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  };
}

/**
 * Alarms on what needs a person: a failed pipeline run, endpoint errors, slow model loading (the
 * endpoint's cache is too small for the fleet) and runs the scheduler could not start. All notify one
 * SNS topic, with an e-mail subscription when the stack sets `alarmEmail`.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly emailSubscription: aws.sns.TopicSubscription | undefined;
  readonly pipelineFailureRule: aws.cloudwatch.EventRule;
  readonly pipelineFailureTarget: aws.cloudwatch.EventTarget;
  readonly topicPolicy: aws.sns.TopicPolicy;
  readonly pipelineFailureAlarm: aws.cloudwatch.MetricAlarm;
  readonly endpointErrorsAlarm: aws.cloudwatch.MetricAlarm;
  readonly modelLoadingWaitAlarm: aws.cloudwatch.MetricAlarm;
  readonly deadLetterAlarm: aws.cloudwatch.MetricAlarm;
  readonly missedNightAlarm: aws.cloudwatch.MetricAlarm;
  readonly rejectedShareAlarm: aws.cloudwatch.MetricAlarm;
  readonly staleCustomersAlarm: aws.cloudwatch.MetricAlarm;
  readonly quarantinedShareAlarm: aws.cloudwatch.MetricAlarm;
  readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Monitoring', name, {}, opts);
    const parent = { parent: this };

    this.topic = new aws.sns.Topic(`${name}-alarms`, {}, parent);
    this.emailSubscription =
      args.alarmEmail === undefined
        ? undefined
        : new aws.sns.TopicSubscription(`${name}-email`, { topic: this.topic.arn, protocol: 'email', endpoint: args.alarmEmail }, parent);
    const notify = { alarmActions: [this.topic.arn], okActions: [this.topic.arn], treatMissingData: 'notBreaching' };
    const endpointDimensions = { EndpointName: args.endpointName, VariantName: args.variantName };

    this.pipelineFailureRule = new aws.cloudwatch.EventRule(
      `${name}-pipeline-failed`,
      {
        description: 'The nightly pipeline task stopped with a non-zero exit code or failed to start',
        eventPattern: pulumi.output(args.clusterArn).apply((clusterArn) => JSON.stringify(pipelineFailurePattern(clusterArn, args.taskFamily))),
      },
      parent,
    );
    this.topicPolicy = new aws.sns.TopicPolicy(
      `${name}-alarms`,
      {
        arn: this.topic.arn,
        policy: pulumi
          .all([this.topic.arn, this.pipelineFailureRule.arn, args.accountId])
          .apply(([topicArn, ruleArn, accountId]) => JSON.stringify(topicPolicyForRule(topicArn, ruleArn, accountId))),
      },
      parent,
    );
    // A rule without a target is never triggered: the target sends the stop reason to the alarm topic.
    this.pipelineFailureTarget = new aws.cloudwatch.EventTarget(
      `${name}-pipeline-failed`,
      { rule: this.pipelineFailureRule.name, arn: this.topic.arn, inputTransformer: PIPELINE_FAILURE_MESSAGE },
      { parent: this, dependsOn: [this.topicPolicy] },
    );
    // MatchedEvents has no RuleName dimension (AWS's metrics table): TriggeredRules is the per-rule count.
    this.pipelineFailureAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-pipeline-failed`,
      {
        name: args.alarmName('pipeline-failed'),
        alarmDescription: 'A nightly pipeline run failed or its task did not start: see the pipeline log group and runs/<runId>/report.json',
        namespace: 'AWS/Events',
        metricName: 'TriggeredRules',
        dimensions: { RuleName: this.pipelineFailureRule.name },
        statistic: 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        ...notify,
      },
      parent,
    );
    this.endpointErrorsAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-endpoint-errors`,
      {
        name: args.alarmName('endpoint-5xx'),
        alarmDescription: 'The multi-model endpoint answers with 5XX errors (also rolls a deployment back)',
        namespace: 'AWS/SageMaker',
        metricName: 'Invocation5XXErrors',
        dimensions: endpointDimensions,
        statistic: 'Sum',
        period: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 2,
        threshold: 5,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        ...notify,
      },
      parent,
    );
    this.modelLoadingWaitAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-model-loading-wait`,
      {
        name: args.alarmName('model-loading-wait'),
        alarmDescription: 'Requests wait long for models to load: the endpoint may need more or larger instances',
        namespace: 'AWS/SageMaker',
        metricName: 'ModelLoadingWaitTime',
        dimensions: endpointDimensions,
        statistic: 'Average',
        period: 300,
        evaluationPeriods: 3,
        threshold: args.modelLoadingWaitAlarmMicros,
        comparisonOperator: 'GreaterThanThreshold',
        ...notify,
      },
      parent,
    );
    this.deadLetterAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-schedule-dlq`,
      {
        name: args.alarmName('schedule-dlq'),
        alarmDescription: 'The scheduler could not start a nightly run (see the dead-letter queue)',
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: args.deadLetterQueueName },
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        ...notify,
      },
      parent,
    );

    // Alarms on the pipeline's own metrics: one data point per night, derived from the run's report.
    const nightly = args.nightly;
    const runMetric = { namespace: nightly.metricsNamespace, dimensions: { [METRIC_DIMENSIONS.stack]: nightly.stack }, statistic: 'Maximum' };
    const report = `npm run report -- --run <runId> (or s3://<bucket>/reports/<runId>.json)`;
    // A nightly data point decides until the next night's: keep the state between them.
    const untilNextNight = { ...notify, treatMissingData: 'ignore', period: 3600, evaluationPeriods: 1 };
    this.missedNightAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-missed-night`,
      {
        name: args.alarmName('missed-night'),
        alarmDescription:
          `No nightly run succeeded in the last ${MISSED_NIGHT_HOURS} hours (missed, still running or failed). Look first at the ` +
          `pipeline log group ${nightly.pipelineLogGroup} for the last run, then the schedule's dead-letter queue (a run that never started), then ${report}.`,
        ...runMetric,
        metricName: METRIC_NAMES.runSucceeded,
        period: 3600,
        evaluationPeriods: MISSED_NIGHT_HOURS,
        datapointsToAlarm: MISSED_NIGHT_HOURS,
        threshold: 1,
        comparisonOperator: 'LessThanThreshold',
        ...notify,
        // No data point at all is the missed night itself.
        treatMissingData: 'breaching',
      },
      parent,
    );
    this.rejectedShareAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-rejected-share`,
      {
        name: args.alarmName('rejected-share'),
        alarmDescription:
          `More than ${percent(nightly.rejectedShareThreshold)} of last night's customers were rejected by the gate or failed training. ` +
          `Look first at ${report}: the rejected and failed customers with their reasons; then the training job's log for the failed ones.`,
        ...runMetric,
        metricName: METRIC_NAMES.rejectedOrFailedShare,
        threshold: nightly.rejectedShareThreshold,
        comparisonOperator: 'GreaterThanThreshold',
        ...untilNextNight,
      },
      parent,
    );
    this.staleCustomersAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-stale-customers`,
      {
        name: args.alarmName('stale-customers'),
        alarmDescription:
          `Customers are served by models older than the stale limit (their new models were rejected or failed night after night). ` +
          `Look first at ${report} for which customers and since when, then at their rejection reasons on the nights before.`,
        ...runMetric,
        metricName: METRIC_NAMES.customersStale,
        threshold: 0,
        comparisonOperator: 'GreaterThanThreshold',
        ...untilNextNight,
      },
      parent,
    );
    this.quarantinedShareAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-quarantined-share`,
      {
        name: args.alarmName('quarantined-share'),
        alarmDescription:
          `More than ${percent(nightly.quarantinedShareThreshold)} of last night's raw rows were quarantined. Look first at the ` +
          `quarantined rows under s3://<bucket>/runs/<runId>/processing-report/ and at the raw drops under raw/ that night (format or source change?).`,
        ...runMetric,
        metricName: METRIC_NAMES.quarantinedShare,
        threshold: nightly.quarantinedShareThreshold,
        comparisonOperator: 'GreaterThanThreshold',
        ...untilNextNight,
      },
      parent,
    );
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: nightly.dashboardName,
        dashboardBody: dashboardBody({
          region: nightly.region,
          metricsNamespace: nightly.metricsNamespace,
          stack: nightly.stack,
          endpointName: args.endpointName,
          variantName: args.variantName,
        }),
      },
      parent,
    );
    this.registerOutputs({ alarmTopicArn: this.topic.arn, dashboardName: this.dashboard.dashboardName });
  }
}

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(4))}%`;
}
