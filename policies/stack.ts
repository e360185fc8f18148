import * as aws from '@pulumi/aws';
import type { PolicyResource, StackValidationPolicy } from '@pulumi/policy';
import { describe, readKnown, sourcesOf } from './support/related.js';

/*
 * Stack policies that follow property dependencies from one resource to the resources its inputs
 * were computed from. Ids and ARNs are unknown during a first preview; dependencies are not.
 */

/** awsx's Fargate task definition is a component whose `taskDefinition` output feeds the schedule. */
const taskDefinitionTypes = new Set([
  (aws.ecs.TaskDefinition as unknown as { __pulumiType: string }).__pulumiType,
  'awsx:ecs:FargateTaskDefinition',
]);

function isTaskDefinition(resource: PolicyResource): boolean {
  return taskDefinitionTypes.has(resource.type);
}

/** `arn:…:task-definition/family:3` → `arn:…:task-definition/family`, so any revision of the family matches. */
function taskFamilyArn(arn: string): string {
  return arn.replace(/:\d+$/, '');
}

export const stackScheduleRunsOwnTask: StackValidationPolicy = {
  name: 'stack-schedule-runs-own-task',
  description: 'Every EventBridge schedule starts a task definition on a cluster declared in this same stack, so the nightly run cannot drift to another environment\'s task.',
  remediationSteps: 'Build the schedule target from this stack\'s resources: target.arn = cluster.arn and target.ecsParameters.taskDefinitionArn = taskDefinition.arn (not literal ARNs).',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateStack: (args, reportViolation) => {
    for (const schedule of args.resources.filter((r) => r.isType(aws.scheduler.Schedule))) {
      const feeding = schedule.propertyDependencies['target'] ?? [];
      const tasks = feeding.filter(isTaskDefinition);
      const clusters = feeding.filter((r) => r.isType(aws.ecs.Cluster));
      if (tasks.length === 0) {
        reportViolation(`Expected the target of ${describe(schedule)} to come from a task definition in this stack, found none among [${feeding.map(describe).join(', ')}].`, schedule.urn);
      }
      if (clusters.length === 0) {
        reportViolation(`Expected the target of ${describe(schedule)} to come from an ECS cluster in this stack, found none among [${feeding.map(describe).join(', ')}].`, schedule.urn);
      }
      const target = readKnown(() => schedule.props['target'] as { ecsParameters?: { taskDefinitionArn?: string } } | undefined);
      const wanted = readKnown(() => target?.ecsParameters?.taskDefinitionArn);
      const own = tasks
        .filter((t) => t.isType(aws.ecs.TaskDefinition))
        .map((t) => readKnown(() => t.props['arn'] as string | undefined))
        .filter((a): a is string => typeof a === 'string');
      if (wanted !== undefined && own.length > 0 && !own.some((a) => taskFamilyArn(a) === taskFamilyArn(wanted))) {
        reportViolation(`Expected ${describe(schedule)} to run one of [${own.join(', ')}], found ${wanted}.`, schedule.urn);
      }
    }
  },
};

/** The bucket name of an `s3://bucket/prefix` URL. */
function bucketOfUrl(url: string): string | undefined {
  return /^s3:\/\/([^/]+)/.exec(url)?.[1];
}

export const stackEndpointReadsOwnBucket: StackValidationPolicy = {
  name: 'stack-endpoint-reads-own-bucket',
  description: 'Every SageMaker endpoint serves a configuration and model of this stack whose model data URL points into this stack\'s own bucket, where the nightly pipeline publishes the models.',
  remediationSteps: 'Chain the resources: Endpoint.endpointConfigName = config.name, productionVariants[].modelName = model.name, primaryContainer.modelDataUrl = pulumi.interpolate`s3://${bucket.bucket}/models/`.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateStack: (args, reportViolation) => {
    for (const endpoint of args.resources.filter((r) => r.isType(aws.sagemaker.Endpoint))) {
      const configs = sourcesOf(endpoint, 'endpointConfigName', [aws.sagemaker.EndpointConfiguration]);
      if (configs.length === 0) {
        reportViolation(`Expected ${describe(endpoint)} to use an endpoint configuration of this stack, found none.`, endpoint.urn);
        continue;
      }
      const models = configs.flatMap((c) => sourcesOf(c, 'productionVariants', [aws.sagemaker.Model]));
      if (models.length === 0) {
        reportViolation(`Expected the configuration of ${describe(endpoint)} to serve a model of this stack, found none.`, endpoint.urn);
        continue;
      }
      for (const model of models) {
        const buckets = sourcesOf(model, 'primaryContainer', [aws.s3.Bucket]);
        if (buckets.length === 0) {
          reportViolation(`Expected the model data URL of ${describe(model)} (served by ${describe(endpoint)}) to come from a bucket of this stack, found none.`, endpoint.urn);
          continue;
        }
        const url = readKnown(() => (model.props['primaryContainer'] as { modelDataUrl?: string } | undefined)?.modelDataUrl);
        const names = buckets.map((b) => readKnown(() => b.props['bucket'] as string | undefined)).filter((n): n is string => !!n);
        const urlBucket = url === undefined ? undefined : bucketOfUrl(url);
        if (urlBucket !== undefined && names.length === buckets.length && !names.includes(urlBucket)) {
          reportViolation(`Expected the model data URL of ${describe(model)} in bucket [${names.join(', ')}], found ${url}.`, endpoint.urn);
        }
      }
    }
  },
};

export const stackPolicies = [stackScheduleRunsOwnTask, stackEndpointReadsOwnBucket];
