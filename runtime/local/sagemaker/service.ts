import path from 'node:path';
import type { InternalS3 } from '../s3/internal-client.js';
import type { RuntimeSettings } from '../runtime-api/endpoint-runtime.js';
import { EndpointService, type EndpointConfigRecord, type EndpointRecord, type ModelRecord } from './endpoints.js';
import type { JobContext } from './job-support.js';
import { JobService } from './jobs.js';
import type { ProcessingJobRecord } from './processing-job.js';
import type { Operation } from './protocol.js';
import { StateStore } from './state-store.js';
import type { TrainingJobRecord } from './training-job.js';

export interface SageMakerService {
  operations: ReadonlyMap<string, Operation>;
  endpoints: EndpointService;
  shutdown(): Promise<void>;
}

/** The SageMaker API over state persisted under `<dataDir>/sagemaker`, jobs under `<dataDir>/jobs`. */
export async function createSageMakerService(o: {
  dataDir: string;
  s3: InternalS3;
  job: Omit<JobContext, 's3' | 'jobsDir'>;
  runtime: RuntimeSettings;
  maxInstancesPerJob: number;
}): Promise<SageMakerService> {
  const stateDir = path.join(o.dataDir, 'sagemaker');
  const [trainingJobs, processingJobs, models, configs, endpointRecords] = await Promise.all([
    StateStore.open<TrainingJobRecord>(stateDir, 'training-jobs'),
    StateStore.open<ProcessingJobRecord>(stateDir, 'processing-jobs'),
    StateStore.open<ModelRecord>(stateDir, 'models'),
    StateStore.open<EndpointConfigRecord>(stateDir, 'endpoint-configs'),
    StateStore.open<EndpointRecord>(stateDir, 'endpoints'),
  ]);
  const jobs = new JobService({ ...o.job, s3: o.s3, jobsDir: path.join(o.dataDir, 'jobs') }, trainingJobs, processingJobs, o.maxInstancesPerJob);
  await jobs.recoverInterrupted();
  const endpoints = new EndpointService({
    region: o.job.region,
    accountId: o.job.accountId,
    endpointsDir: path.join(o.dataDir, 'endpoints'),
    s3: o.s3,
    settings: o.runtime,
    models,
    configs,
    endpoints: endpointRecords,
  });
  const operations = new Map<string, Operation>([
    ['CreateProcessingJob', (i) => jobs.createProcessingJob(i)],
    ['DescribeProcessingJob', (i) => jobs.describeProcessingJob(i)],
    ['StopProcessingJob', (i) => jobs.stopProcessingJob(i)],
    ['ListProcessingJobs', (i) => jobs.listProcessingJobs(i)],
    ['CreateTrainingJob', (i) => jobs.createTrainingJob(i)],
    ['DescribeTrainingJob', (i) => jobs.describeTrainingJob(i)],
    ['StopTrainingJob', (i) => jobs.stopTrainingJob(i)],
    ['ListTrainingJobs', (i) => jobs.listTrainingJobs(i)],
    ['CreateModel', (i) => endpoints.createModel(i)],
    ['DescribeModel', (i) => endpoints.describeModel(i)],
    ['DeleteModel', (i) => endpoints.deleteModel(i)],
    ['CreateEndpointConfig', (i) => endpoints.createEndpointConfig(i)],
    ['DescribeEndpointConfig', (i) => endpoints.describeEndpointConfig(i)],
    ['DeleteEndpointConfig', (i) => endpoints.deleteEndpointConfig(i)],
    ['CreateEndpoint', (i) => endpoints.createEndpoint(i)],
    ['DescribeEndpoint', (i) => endpoints.describeEndpoint(i)],
    ['UpdateEndpoint', (i) => endpoints.updateEndpoint(i)],
    ['DeleteEndpoint', (i) => endpoints.deleteEndpoint(i)],
    ['ListEndpoints', (i) => endpoints.listEndpoints(i)],
  ]);
  return {
    operations,
    endpoints,
    async shutdown() {
      await jobs.shutdown();
      await endpoints.shutdown();
    },
  };
}
