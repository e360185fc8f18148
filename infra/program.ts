import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BUCKET_LAYOUT } from './bucket-layout.js';
import { MultiModelEndpoint, VARIANT_NAME } from './components/endpoint.js';
import { Images } from './components/images.js';
import { Keys } from './components/keys.js';
import { Monitoring } from './components/monitoring.js';
import { Network } from './components/network.js';
import { Retraining, type PipelineEnvironment } from './components/retraining.js';
import { Roles, roleTargets } from './components/roles.js';
import { Storage } from './components/storage.js';
import { publishingRulesText } from '../runtime/config/publishing-rules.js';
import { loadStackConfig, type StackConfig } from './config.js';
import type { AccountContext } from './iam.js';
import { stackNames } from './naming.js';

/** The stack's outputs (see README: what each is for). */
export interface StackOutputs {
  readonly bucketName: pulumi.Output<string>;
  readonly endpointName: pulumi.Output<string>;
  readonly modelPrefix: pulumi.Output<string>;
  readonly manifestKey: string;
  readonly scheduleName: pulumi.Output<string>;
  readonly processingImageUri: pulumi.Output<string>;
  readonly trainingImageUri: pulumi.Output<string>;
  readonly inferenceImageUri: pulumi.Output<string>;
  readonly pipelineImageUri: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string>;
  readonly dashboardName: pulumi.Output<string>;
  readonly forecastCommand: pulumi.Output<string>;
}

/**
 * Declares everything one environment needs: bucket, images, roles, the multi-model endpoint and
 * nightly retraining, with alarms. The configuration is validated before anything is declared.
 */
export function forecastFleet(config: StackConfig = loadStackConfig()): StackOutputs {
  const names = stackNames(pulumi.getProject(), pulumi.getStack());
  const provider = new aws.Provider('aws', {
    region: config.region as aws.Region,
    defaultTags: { tags: { ...config.tags, 'forecast:project': pulumi.getProject(), 'forecast:stack': pulumi.getStack() } },
  });
  const withProvider = { providers: [provider] };
  const identity = aws.getCallerIdentityOutput({}, { provider });
  const partition = aws.getPartitionOutput({}, { provider });
  const context: AccountContext = { partition: partition.partition, region: config.region, accountId: identity.accountId };

  const storage = new Storage('storage', { bucketPrefix: names.bucketPrefix, retentionDays: config.retentionDays, noncurrentVersionDays: config.noncurrentVersionDays }, withProvider);
  const images = new Images('images', { repositoryName: names.repository }, withProvider).images;
  const keys = new Keys('keys', { endpointKeyAlias: names.endpointKeyAlias }, withProvider);
  const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, { provider });
  const network = new Network(
    'network',
    {
      cidrBlock: config.networkCidr,
      region: config.region,
      availabilityZones: zones.names.apply((available) => {
        const [first, second] = available;
        if (first === undefined || second === undefined) throw new Error(`Region ${config.region} has fewer than two available zones`);
        return [first, second] as const;
      }),
    },
    withProvider,
  );

  const roles = new Roles(
    'roles',
    {
      context,
      targets: roleTargets(context, names, {
        bucketArn: storage.bucketArn,
        sagemakerRepositoryArns: [images.processing.repository.arn, images.training.repository.arn, images.inference.repository.arn],
        pipelineRepositoryArn: images.pipeline.repository.arn,
        endpointKeyArn: keys.endpointKey.arn,
      }),
    },
    withProvider,
  );

  const environment: PipelineEnvironment = {
    bucket: storage.bucketName,
    rawPrefix: BUCKET_LAYOUT.raw,
    sagemakerRoleArn: roles.sagemakerExecution.arn,
    jobNamePrefix: names.jobNamePrefix,
    processingImage: images.processing.imageUri,
    trainingImage: images.training.imageUri,
    processingInstanceType: config.processing.instanceType,
    processingInstanceCount: String(config.processing.instanceCount),
    trainingInstanceType: config.training.instanceType,
    trainingInstanceCount: String(config.training.instanceCount),
    trainingCustomersPerInstance: String(config.training.customersPerInstance),
    trainingSpot: String(config.training.spot),
    trainingMaxRuntimeSeconds: String(config.training.maxRuntimeSeconds),
    hyperparameters: JSON.stringify(config.training.hyperparameters),
    endpointName: names.endpoint,
    scheduleTimezone: config.schedule.timezone,
    ...publishingRulesText(config.publishing),
    metricsNamespace: config.monitoring.metricsNamespace,
    metricsStack: pulumi.getStack(),
    // A full retrain is a one-off: override it on the task (or run `npm start -- --retrain-all` locally).
    fullRetrain: 'false',
    dropAfterDays: String(config.dropAfterDays),
    retentionDays: String(config.retentionDays),
  };
  const retraining = new Retraining(
    'retraining',
    {
      clusterName: names.cluster,
      taskFamily: names.taskFamily,
      logGroupName: names.pipelineLogGroup,
      deadLetterQueueName: names.deadLetterQueue,
      scheduleName: names.schedule,
      region: config.region,
      imageUri: images.pipeline.imageUri,
      environment,
      taskRoleArn: roles.pipelineTask.arn,
      executionRoleArn: roles.taskExecution.arn,
      schedulerRoleArn: roles.scheduler.arn,
      subnetIds: network.subnetIds,
      securityGroupIds: network.securityGroupIds,
      pipeline: config.pipeline,
      schedule: config.schedule,
      logRetentionDays: config.logRetentionDays,
      dependsOn: [roles.policies.scheduler, roles.policies.taskExecution],
    },
    withProvider,
  );

  const monitoring = new Monitoring(
    'monitoring',
    {
      alarmName: names.alarm,
      alarmEmail: config.alarmEmail,
      endpointName: names.endpoint,
      variantName: VARIANT_NAME,
      modelLoadingWaitAlarmMicros: config.endpoint.modelLoadingWaitAlarmMicros,
      clusterArn: retraining.cluster.arn,
      taskFamily: names.taskFamily,
      deadLetterQueueName: retraining.deadLetterQueue.name,
      accountId: context.accountId,
      nightly: {
        region: config.region,
        metricsNamespace: config.monitoring.metricsNamespace,
        stack: pulumi.getStack(),
        dashboardName: names.dashboard,
        pipelineLogGroup: names.pipelineLogGroup,
        rejectedShareThreshold: config.monitoring.alarmRejectedShare,
        quarantinedShareThreshold: config.monitoring.alarmQuarantinedShare,
      },
    },
    withProvider,
  );

  const modelPrefix = pulumi.interpolate`s3://${storage.bucketName}/${BUCKET_LAYOUT.models}`;
  const endpoint = new MultiModelEndpoint(
    'endpoint',
    {
      endpointName: names.endpoint,
      imageUri: images.inference.imageUri,
      modelDataUrl: modelPrefix,
      executionRoleArn: roles.sagemakerExecution.arn,
      instanceType: config.endpoint.instanceType,
      instanceCount: config.endpoint.instanceCount,
      volumeKmsKeyArn: keys.endpointKey.arn,
      autoscaling: config.autoscaling,
      rollbackAlarmNames: [monitoring.endpointErrorsAlarm.name],
      dependsOn: [roles.policies.sagemakerExecution],
    },
    withProvider,
  );

  return {
    bucketName: storage.bucketName,
    endpointName: endpoint.endpointName,
    modelPrefix,
    manifestKey: BUCKET_LAYOUT.currentManifest,
    scheduleName: retraining.schedule.name,
    processingImageUri: images.processing.imageUri,
    trainingImageUri: images.training.imageUri,
    inferenceImageUri: images.inference.imageUri,
    pipelineImageUri: images.pipeline.imageUri,
    alarmTopicArn: monitoring.topic.arn,
    dashboardName: monitoring.dashboard.dashboardName,
    forecastCommand: pulumi.interpolate`AWS_REGION=${config.region} npm run forecast -- --bucket ${storage.bucketName} --endpoint ${endpoint.endpointName} --customer 0 --period 7`,
  };
}
