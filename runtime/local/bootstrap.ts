import { setTimeout as delay } from 'node:timers/promises';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { LOCAL_IMAGES } from './images.js';

export interface ProvisionOptions {
  endpointUrl: string;
  bucket: string;
  endpointName: string;
  region?: string;
  /** How long to wait for the endpoint to be InService; default 120 s. */
  timeoutMs?: number;
  /** The model's container environment (e.g. `INFERENCE_MEMORY_BUDGET_MB`); default none. */
  modelEnvironment?: Record<string, string>;
}

/** The names the provisioned resources get, derived from the endpoint's. */
export function localStackNames(endpointName: string) {
  return { model: `${endpointName}-model`, endpointConfig: `${endpointName}-config`, roleArn: 'arn:aws:iam::000000000000:role/forecast-local-sagemaker' };
}

/**
 * What the Pulumi program creates on AWS, created through the real SDK against local mode: the
 * bucket, and the multi-model endpoint (CreateModel with Mode MultiModel over
 * `s3://<bucket>/models/`, CreateEndpointConfig, CreateEndpoint), waiting until it is InService.
 * Idempotent: existing resources are kept, a Failed endpoint is recreated.
 */
export async function provisionLocalStack(o: ProvisionOptions): Promise<void> {
  const config = { endpoint: o.endpointUrl, region: o.region ?? 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const sagemaker = new SageMakerClient(config);
  const names = localStackNames(o.endpointName);
  try {
    const bucketExists = await s3.send(new HeadBucketCommand({ Bucket: o.bucket })).then(
      () => true,
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
        if (error.name === 'NotFound' || error.$metadata?.httpStatusCode === 404) return false;
        throw error;
      },
    );
    if (!bucketExists) await s3.send(new CreateBucketCommand({ Bucket: o.bucket }));

    if (!(await exists(() => sagemaker.send(new DescribeModelCommand({ ModelName: names.model }))))) {
      await sagemaker.send(
        new CreateModelCommand({
          ModelName: names.model,
          ExecutionRoleArn: names.roleArn,
          PrimaryContainer: { Image: LOCAL_IMAGES.inference, Mode: 'MultiModel', ModelDataUrl: `s3://${o.bucket}/models/`, Environment: o.modelEnvironment },
        }),
      );
    }
    if (!(await exists(() => sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: names.endpointConfig }))))) {
      await sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: names.endpointConfig,
          ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: names.model, InstanceType: 'ml.c5.large', InitialInstanceCount: 1 }],
        }),
      );
    }
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    for (;;) {
      const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: o.endpointName })).catch((error: { name?: string }) => {
        if (error.name === 'ValidationException') return undefined;
        throw error;
      });
      if (!endpoint) {
        await sagemaker.send(new CreateEndpointCommand({ EndpointName: o.endpointName, EndpointConfigName: names.endpointConfig }));
      } else if (endpoint.EndpointStatus === 'InService') {
        return;
      } else if (endpoint.EndpointStatus === 'Failed') {
        await sagemaker.send(new DeleteEndpointCommand({ EndpointName: o.endpointName }));
      }
      if (Date.now() > deadline) {
        throw new Error(`endpoint ${o.endpointName} is ${endpoint?.EndpointStatus ?? 'missing'} after ${o.timeoutMs ?? 120_000} ms${endpoint?.FailureReason ? `: ${endpoint.FailureReason}` : ''}`);
      }
      // Local mode's endpoint comes up in about half a second: a short poll does not add a tenth to it.
      await delay(25);
    }
  } finally {
    s3.destroy();
    sagemaker.destroy();
  }
}

async function exists(describe: () => Promise<unknown>): Promise<boolean> {
  try {
    await describe();
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationException') return false;
    throw error;
  }
}
