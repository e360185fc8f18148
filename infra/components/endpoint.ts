import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { hasLocalInstanceStorage } from '../../runtime/config/sagemaker-limits.js';
import type { StackConfig } from '../config.js';

export const VARIANT_NAME = 'all-customers';

/** How long the provider waits for the endpoint to be InService again after an update (fixed). */
export const PROVIDER_ENDPOINT_WAIT_SECONDS = 3600;

/**
 * Blue/green: all traffic moves at once, the new fleet bakes while the rollback alarms watch, the
 * old fleet goes after the termination wait. SageMaker gives the whole deployment at most
 * `maximumExecutionTimeoutInSeconds` (which must exceed the two waits); kept well inside the
 * provider's fixed wait, so a slow deployment or an auto-rollback is reported by SageMaker within
 * `pulumi up` rather than outliving it.
 */
export const BLUE_GREEN_UPDATE = {
  trafficRoutingConfiguration: { type: 'ALL_AT_ONCE', waitIntervalInSeconds: 300 },
  terminationWaitInSeconds: 300,
  maximumExecutionTimeoutInSeconds: 2400,
} as const;

export interface EndpointArgs {
  /** Fixed, so clients and the pipeline call it by a name that survives config changes. */
  readonly endpointName: string;
  readonly imageUri: pulumi.Input<string>;
  /** `s3://<bucket>/models/`: every `TargetModel` is a key under it. */
  readonly modelDataUrl: pulumi.Input<string>;
  readonly executionRoleArn: pulumi.Input<string>;
  readonly instanceType: string;
  readonly instanceCount: number;
  /** KMS key for the instances' storage volumes, where models are cached; not used on local-NVMe instance types. */
  readonly volumeKmsKeyArn: pulumi.Input<string>;
  readonly autoscaling: StackConfig['autoscaling'];
  /** Alarms that roll a deployment back when they fire during it. */
  readonly rollbackAlarmNames: readonly pulumi.Input<string>[];
  /** Resources the model needs before SageMaker validates it (the role's policy). */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * The multi-model endpoint all customers' models are served from. Model and EndpointConfiguration
 * are immutable in SageMaker, so both are auto-named: a new image or instance type creates new ones
 * first and the endpoint moves to them (blue/green, rolled back if an alarm fires), then the old ones
 * are deleted. Never `deleteBeforeReplace`: the old config is still in use during the switch.
 */
export class MultiModelEndpoint extends pulumi.ComponentResource {
  readonly model: aws.sagemaker.Model;
  readonly endpointConfig: aws.sagemaker.EndpointConfiguration;
  readonly endpoint: aws.sagemaker.Endpoint;
  readonly scalingTarget: aws.appautoscaling.Target | undefined;
  readonly scalingPolicy: aws.appautoscaling.Policy | undefined;
  readonly endpointName: pulumi.Output<string>;

  constructor(name: string, args: EndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:MultiModelEndpoint', name, {}, opts);

    this.model = new aws.sagemaker.Model(
      `${name}-model`,
      {
        executionRoleArn: args.executionRoleArn,
        primaryContainer: {
          image: args.imageUri,
          mode: 'MultiModel',
          modelDataUrl: args.modelDataUrl,
          multiModelConfig: { modelCacheSetting: 'Enabled' },
        },
      },
      { parent: this, dependsOn: args.dependsOn === undefined ? [] : [...args.dependsOn] },
    );
    this.endpointConfig = new aws.sagemaker.EndpointConfiguration(
      `${name}-config`,
      {
        // Local NVMe storage is encrypted by the instance's hardware and SageMaker refuses a key for it.
        kmsKeyArn: hasLocalInstanceStorage(args.instanceType) ? undefined : args.volumeKmsKeyArn,
        productionVariants: [
          {
            variantName: VARIANT_NAME,
            modelName: this.model.name,
            instanceType: args.instanceType,
            initialInstanceCount: args.instanceCount,
            initialVariantWeight: 1,
          },
        ],
      },
      { parent: this },
    );
    this.endpoint = new aws.sagemaker.Endpoint(
      `${name}-endpoint`,
      {
        name: args.endpointName,
        endpointConfigName: this.endpointConfig.name,
        deploymentConfig: {
          blueGreenUpdatePolicy: BLUE_GREEN_UPDATE,
          autoRollbackConfiguration: { alarms: args.rollbackAlarmNames.map((alarmName) => ({ alarmName })) },
        },
      },
      { parent: this, customTimeouts: { create: '60m', update: '90m' } },
    );
    this.endpointName = this.endpoint.name;

    if (args.autoscaling !== undefined) {
      const scaling = args.autoscaling;
      this.scalingTarget = new aws.appautoscaling.Target(
        `${name}-scaling`,
        {
          serviceNamespace: 'sagemaker',
          scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
          resourceId: pulumi.interpolate`endpoint/${this.endpoint.name}/variant/${VARIANT_NAME}`,
          minCapacity: scaling.minInstances,
          maxCapacity: scaling.maxInstances,
        },
        { parent: this },
      );
      this.scalingPolicy = new aws.appautoscaling.Policy(
        `${name}-invocations`,
        {
          policyType: 'TargetTrackingScaling',
          serviceNamespace: this.scalingTarget.serviceNamespace,
          scalableDimension: this.scalingTarget.scalableDimension,
          resourceId: this.scalingTarget.resourceId,
          targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
            targetValue: scaling.targetInvocationsPerInstance,
            scaleInCooldown: scaling.scaleInCooldownSeconds,
            scaleOutCooldown: scaling.scaleOutCooldownSeconds,
          },
        },
        { parent: this },
      );
    }
    this.registerOutputs({ endpointName: this.endpointName, modelName: this.model.name, endpointConfigName: this.endpointConfig.name });
  }
}
