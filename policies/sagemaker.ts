import * as aws from '@pulumi/aws';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';
import { hasLocalInstanceStorage } from '../runtime/config/sagemaker-limits.js';
import { matchesAnyWildcard } from './support/wildcard.js';

export interface SageMakerInstanceTypeConfig {
  allowedInstanceTypes: string[];
}

export const sagemakerEndpointInstanceTypeAllowed: ResourceValidationPolicy = {
  name: 'sagemaker-endpoint-instance-type-allowed',
  description: 'SageMaker endpoint configurations use only allowed instance types (CPU ml.c5 by default): Prophet models gain nothing from GPUs, which cost several times more per hour, and GPU multi-model endpoints need a Triton container.',
  remediationSteps: 'Set productionVariants[].instanceType to an allowed type such as ml.c5.xlarge (config key endpointInstanceType in Pulumi.<stack>.yaml), or extend allowedInstanceTypes in the policy pack config.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  configSchema: {
    properties: {
      allowedInstanceTypes: {
        type: 'array',
        items: { type: 'string' },
        default: ['ml.c5.*'],
        description: 'Instance types (wildcards allowed) an endpoint variant may run on.',
      },
    },
  },
  validateResource: validateResourceOfType(aws.sagemaker.EndpointConfiguration, (config, args, reportViolation) => {
    const { allowedInstanceTypes } = args.getConfig<SageMakerInstanceTypeConfig>();
    for (const [i, variant] of (config.productionVariants ?? []).entries()) {
      if (variant.serverlessConfig !== undefined && variant.instanceType === undefined) continue;
      const type = variant.instanceType;
      if (type === undefined || !matchesAnyWildcard(allowedInstanceTypes, type, false)) {
        reportViolation(
          `productionVariants[${i}]${variant.variantName ? ` "${variant.variantName}"` : ''}: expected an instance type matching [${allowedInstanceTypes.join(', ')}], found ${type ?? 'none'}.`,
        );
      }
    }
  }),
};

export const sagemakerEndpointConfigKmsKey: ResourceValidationPolicy = {
  name: 'sagemaker-endpoint-config-kms-key',
  description: 'SageMaker endpoint configurations name a KMS key, so the storage volumes of the endpoint instances (where the multi-model endpoint caches customer models) are encrypted with a key the account controls; on instance types with local NVMe storage (ml.c5d, ml.g5, …), which their hardware encrypts, they name none, as CreateEndpointConfig refuses a key there.',
  remediationSteps: 'Set kmsKeyArn on the aws.sagemaker.EndpointConfiguration to an aws.kms.Key with rotation enabled, and allow the SageMaker execution role kms:CreateGrant on it; leave it unset when a variant runs on an instance type with local NVMe storage.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.sagemaker.EndpointConfiguration, (config, _args, reportViolation) => {
    const localStorage = (config.productionVariants ?? []).map((v) => v.instanceType).filter((type): type is string => type !== undefined && hasLocalInstanceStorage(type));
    // Presence, not value: a key created in the same stack has an unknown ARN during preview.
    const hasKey = 'kmsKeyArn' in config;
    if (localStorage.length > 0) {
      if (hasKey) reportViolation(`Expected no kmsKeyArn with local-NVMe instance types [${localStorage.join(', ')}] (CreateEndpointConfig fails), found one.`);
    } else if (!hasKey) {
      reportViolation('Expected kmsKeyArn on the endpoint configuration, found none.');
    }
  }),
};

export const sagemakerEndpointConfigAutoNamed: ResourceValidationPolicy = {
  name: 'sagemaker-endpoint-config-auto-named',
  description: 'SageMaker models and endpoint configurations are auto-named: both are immutable, so every change replaces them, and a fixed name makes the replacement fail with "already existing" instead of rolling the endpoint.',
  remediationSteps: 'Remove name from the aws.sagemaker.Model / EndpointConfiguration (Pulumi then adds a random suffix), and never set deleteBeforeReplace on them.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateResource: [
    validateResourceOfType(aws.sagemaker.EndpointConfiguration, (config, args, reportViolation) => {
      if (config.name !== undefined) reportViolation(`Expected no explicit name, found "${config.name}".`);
      if (args.opts.deleteBeforeReplace === true) reportViolation('Expected create-before-delete replacement, found deleteBeforeReplace: true.');
    }),
    validateResourceOfType(aws.sagemaker.Model, (model, args, reportViolation) => {
      if (model.name !== undefined) reportViolation(`Expected no explicit name, found "${model.name}".`);
      if (args.opts.deleteBeforeReplace === true) reportViolation('Expected create-before-delete replacement, found deleteBeforeReplace: true.');
    }),
  ],
};

export const sagemakerModelMultiModel: ResourceValidationPolicy = {
  name: 'sagemaker-model-multi-model',
  description: 'The forecast model serves every customer from one endpoint: its container runs in MultiModel mode with an S3 prefix (ending in "/") as model data URL, from which requests pick a model with TargetModel.',
  remediationSteps: 'Set primaryContainer: { mode: "MultiModel", modelDataUrl: pulumi.interpolate`s3://${bucket.bucket}/models/`, image }.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateResource: validateResourceOfType(aws.sagemaker.Model, (model, _args, reportViolation) => {
    const container = model.primaryContainer;
    if (container === undefined) {
      reportViolation(`Expected a primaryContainer in MultiModel mode, found ${model.containers?.length ? 'containers[] (an inference pipeline)' : 'none'}.`);
      return;
    }
    if (container.mode !== 'MultiModel') {
      reportViolation(`Expected primaryContainer.mode "MultiModel", found ${container.mode === undefined ? 'none (SingleModel)' : `"${container.mode}"`}.`);
    }
    const url = container.modelDataUrl;
    if (url === undefined || !/^s3:\/\/[^/]+\/(.+\/)?$/.test(url)) {
      reportViolation(`Expected primaryContainer.modelDataUrl to be an S3 prefix ending in "/" (s3://<bucket>/models/), found ${url === undefined ? 'none' : `"${url}"`}.`);
    }
  }),
};

export const sagemakerEndpointAutoRollback: ResourceValidationPolicy = {
  name: 'sagemaker-endpoint-auto-rollback',
  description: 'SageMaker endpoints deploy with automatic rollback on alarms, so a model or image that fails after an update is rolled back instead of serving errors.',
  remediationSteps: 'Set deploymentConfig: { autoRollbackConfiguration: { alarms: [{ alarmName: <5XX alarm> }] }, blueGreenUpdatePolicy: { ... } } on the aws.sagemaker.Endpoint.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.sagemaker.Endpoint, (endpoint, _args, reportViolation) => {
    const alarms = endpoint.deploymentConfig?.autoRollbackConfiguration?.alarms ?? [];
    if (alarms.length === 0) {
      reportViolation(`Expected deploymentConfig.autoRollbackConfiguration.alarms, found ${endpoint.deploymentConfig ? 'no alarms' : 'no deploymentConfig'}.`);
    }
  }),
};

export interface EndpointAutoscalingConfig {
  maximumInstances: number;
}

export const sagemakerEndpointAutoscalingBounded: ResourceValidationPolicy = {
  name: 'sagemaker-endpoint-autoscaling-bounded',
  description: 'Application Auto Scaling of a SageMaker endpoint variant stops at an allowed number of instances, so a traffic spike or a runaway client cannot scale the bill without bound.',
  remediationSteps: 'Lower maxCapacity on the aws.appautoscaling.Target (config key autoscalingMaxInstances), or raise maximumInstances in the policy pack config.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  configSchema: {
    properties: {
      maximumInstances: { type: 'integer', minimum: 1, default: 10, description: 'Most instances an endpoint variant may scale out to.' },
    },
  },
  validateResource: validateResourceOfType(aws.appautoscaling.Target, (target, args, reportViolation) => {
    if (target.serviceNamespace !== 'sagemaker') args.notApplicable('not a SageMaker scalable target');
    const { maximumInstances } = args.getConfig<EndpointAutoscalingConfig>();
    if (target.maxCapacity > maximumInstances) {
      reportViolation(`Expected maxCapacity of at most ${maximumInstances} for ${target.resourceId}, found ${target.maxCapacity}.`);
    }
  }),
};

export const sagemakerPolicies = [
  sagemakerEndpointInstanceTypeAllowed,
  sagemakerEndpointConfigKmsKey,
  sagemakerEndpointConfigAutoNamed,
  sagemakerModelMultiModel,
  sagemakerEndpointAutoRollback,
  sagemakerEndpointAutoscalingBounded,
];
