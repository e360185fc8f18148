import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { readPipelineConfig, type PipelineConfig } from '../../../runtime/config/pipeline-config.js';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { datasetChunks, type DatasetOptions } from '../../../runtime/dataset/generator.js';
import { provisionLocalStack } from '../../../runtime/local/bootstrap.js';
import { startLocalAws } from '../../../runtime/local/edge-server.js';
import { LOCAL_IMAGES } from '../../../runtime/local/images.js';
import type { PipelineDeps } from '../../../runtime/pipeline/run-pipeline.js';

/**
 * Local mode for pipeline tests: the real edge server on a free loopback port, the bucket and
 * multi-model endpoint provisioned through the SDK, and SDK clients pointed at it the way AWS
 * users point theirs, through the endpoint setting.
 */
export interface LocalPipeline {
  readonly endpointUrl: string;
  /** The target models the endpoint's inference container holds loaded (its `GET /models`). */
  loadedModels(): Promise<Set<string>>;
  readonly dataDir: string;
  readonly bucket: string;
  readonly endpointName: string;
  readonly deps: PipelineDeps;
  /** The pipeline's configuration from its environment variables, with overrides. */
  config(overrides?: Record<string, string>): PipelineConfig;
  /** Writes a generated data set as one raw drop, keeping the rows `keepRow` accepts (all by default). */
  putRawData(options: Partial<DatasetOptions>, keepRow?: (row: string) => boolean): Promise<void>;
  getText(key: string): Promise<string>;
}

export const TEST_BUCKET = 'forecast-test';
export const TEST_ENDPOINT = 'forecast-test';

/** Small and fast: one worker per instance on a shared 2-core machine, few interval draws. */
export const FAST_HYPERPARAMETERS = { workers: '1', uncertainty_samples: '50', n_changepoints: '10', holdout_days: '14' };

export async function startLocalPipeline(t: ExecutionContext, options: { checkpointIntervalMs?: number } = {}): Promise<LocalPipeline> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'forecast-pipeline-test-'));
  let containerPort: number | undefined;
  const aws = await startLocalAws({
    dataDir,
    port: 0,
    stopGraceMs: 2000,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 200,
    // Local mode names the inference container's port when the endpoint is in service.
    log: (line) => {
      const port = new RegExp(`^\\[${TEST_ENDPOINT}\\] endpoint InService .*inference container on port (\\d+)`).exec(line)?.[1];
      if (port !== undefined) containerPort = Number(port);
    },
  });
  t.teardown(async () => {
    await aws.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const clientConfig = {
    endpoint: aws.endpointUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const deps: PipelineDeps = {
    s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
    sagemaker: new SageMakerClient(clientConfig),
    runtime: new SageMakerRuntimeClient(clientConfig),
  };
  await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket: TEST_BUCKET, endpointName: TEST_ENDPOINT });

  const baseEnv = {
    [PIPELINE_ENV.bucket]: TEST_BUCKET,
    [PIPELINE_ENV.sagemakerRoleArn]: 'arn:aws:iam::000000000000:role/forecast-test',
    [PIPELINE_ENV.processingImage]: LOCAL_IMAGES.processing,
    [PIPELINE_ENV.trainingImage]: LOCAL_IMAGES.training,
    [PIPELINE_ENV.endpointName]: TEST_ENDPOINT,
    [PIPELINE_ENV.trainingInstanceCount]: '2',
    // Tests train a handful of customers and still shard them over both instances.
    [PIPELINE_ENV.trainingCustomersPerInstance]: '1',
    [PIPELINE_ENV.hyperparameters]: JSON.stringify(FAST_HYPERPARAMETERS),
    [PIPELINE_ENV.scheduleTimezone]: 'Europe/Paris',
    // Metric records to a file, as local mode keeps them, rather than into the test's output.
    [PIPELINE_ENV.metricsDir]: path.join(dataDir, 'metrics'),
  };
  return {
    endpointUrl: aws.endpointUrl,
    async loadedModels() {
      if (containerPort === undefined) throw new Error(`endpoint ${TEST_ENDPOINT} has not reported its inference container's port`);
      const loaded = new Set<string>();
      let after: string | undefined;
      do {
        const response = await fetch(`http://127.0.0.1:${containerPort}/models${after === undefined ? '' : `?next_page_token=${encodeURIComponent(after)}`}`);
        const page = (await response.json()) as { models: { modelName: string }[]; nextPageToken?: string };
        for (const model of page.models) loaded.add(model.modelName);
        after = page.nextPageToken;
      } while (after !== undefined);
      return loaded;
    },
    dataDir,
    bucket: TEST_BUCKET,
    endpointName: TEST_ENDPOINT,
    deps,
    config: (overrides = {}) => readPipelineConfig({ ...baseEnv, ...overrides }),
    async putRawData(datasetOptions, keepRow = () => true) {
      const [header, ...rows] = [...datasetChunks(datasetOptions)].join('').trimEnd().split('\n');
      const body = `${[header, ...rows.filter(keepRow)].join('\n')}\n`;
      await deps.s3.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: 'raw/energy.csv', Body: body, ContentType: 'text/csv' }));
    },
    async getText(key) {
      const response = await deps.s3.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
      return (await response.Body?.transformToString('utf8')) ?? '';
    },
  };
}
