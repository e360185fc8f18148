import { validationError, resourceInUse, resourceLimitExceeded } from './errors.js';
import { epochSeconds, type JobContext } from './job-support.js';
import { listPage, type ListRequest } from './listing.js';
import { ProcessingRun, type ProcessingJobRecord } from './processing-job.js';
import type { StateStore } from './state-store.js';
import { TrainingRun, type TrainingJobRecord } from './training-job.js';
import { RequestChecker, S3_URI_PATTERN } from './validation.js';
import { MAX_TRAINING_RUNTIME_SECONDS } from '../../config/sagemaker-limits.js';

const ROLE_ARN = /^arn:aws[a-z\-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const CHANNEL_NAME = /^[A-Za-z0-9\.\-_]+$/;
const JOB_STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const;
const SHUTDOWN_REASON = 'InternalServerError: local mode shut down while the job was running';

/** Training and processing jobs: the operations, the runs in progress, and their stored records. */
export class JobService {
  readonly #training = new Map<string, TrainingRun>();
  readonly #processing = new Map<string, ProcessingRun>();

  constructor(
    private readonly ctx: JobContext,
    private readonly trainingJobs: StateStore<TrainingJobRecord>,
    private readonly processingJobs: StateStore<ProcessingJobRecord>,
    private readonly maxInstancesPerJob: number,
  ) {}

  /** Jobs a previous server left running have no processes any more: they failed. */
  async recoverInterrupted(): Promise<void> {
    const now = epochSeconds();
    for (const job of this.trainingJobs.values()) {
      if (job.TrainingJobStatus !== 'InProgress' && job.TrainingJobStatus !== 'Stopping') continue;
      job.TrainingJobStatus = 'Failed';
      job.FailureReason = SHUTDOWN_REASON;
      job.SecondaryStatus = 'Failed';
      job.SecondaryStatusTransitions.push({ Status: 'Failed', StartTime: now, EndTime: now, StatusMessage: 'Training job failed' });
      job.TrainingEndTime = job.LastModifiedTime = now;
      await this.trainingJobs.save(job.TrainingJobName, job);
    }
    for (const job of this.processingJobs.values()) {
      if (job.ProcessingJobStatus !== 'InProgress' && job.ProcessingJobStatus !== 'Stopping') continue;
      job.ProcessingJobStatus = 'Failed';
      job.FailureReason = SHUTDOWN_REASON;
      job.ProcessingEndTime = job.LastModifiedTime = now;
      await this.processingJobs.save(job.ProcessingJobName, job);
    }
  }

  #arn(kind: string, name: string): string {
    return `arn:aws:sagemaker:${this.ctx.region}:${this.ctx.accountId}:${kind}/${name.toLowerCase()}`;
  }

  #checkInstanceLimit(count: number, instanceType: string, usage: string): void {
    if (count > this.maxInstancesPerJob) {
      throw resourceLimitExceeded(
        `The account-level service limit '${instanceType} for ${usage}' is ${this.maxInstancesPerJob} Instances, with current utilization of 0 Instances and a request delta of ${count} Instances. Please use AWS Service Quotas to request an increase for this quota.`,
      );
    }
  }

  createTrainingJob(input: Record<string, unknown>): object {
    validateCreateTrainingJob(input);
    const name = input.TrainingJobName as string;
    const arn = this.#arn('training-job', name);
    if (this.trainingJobs.has(name)) {
      throw resourceInUse(`Training job names must be unique within an AWS account and region, and a training job with this name already exists (${arn})`);
    }
    const resources = input.ResourceConfig as TrainingJobRecord['ResourceConfig'];
    this.#checkInstanceLimit(resources.InstanceCount, resources.InstanceType, 'training job usage');
    const now = epochSeconds();
    const record = {
      ...input,
      TrainingJobArn: arn,
      TrainingJobStatus: 'InProgress',
      SecondaryStatus: 'Starting',
      SecondaryStatusTransitions: [{ Status: 'Starting', StartTime: now, StatusMessage: 'Launching requested ML instances' }],
      ModelArtifacts: {},
      CreationTime: now,
      LastModifiedTime: now,
      EnableManagedSpotTraining: input.EnableManagedSpotTraining ?? false,
    } as TrainingJobRecord;
    void this.trainingJobs.save(name, record);
    const run = new TrainingRun(this.ctx, record, (r) => this.trainingJobs.save(name, r));
    this.#training.set(name, run);
    void run.done.finally(() => this.#training.delete(name));
    return { TrainingJobArn: arn };
  }

  describeTrainingJob(input: Record<string, unknown>): object {
    const check = new RequestChecker();
    check.name(input.TrainingJobName, 'TrainingJobName');
    check.throwIfAny();
    const record = this.trainingJobs.get(input.TrainingJobName as string);
    // AWS answers a missing training job with ValidationException, not ResourceNotFound.
    if (!record) throw validationError('Requested resource not found.');
    return record;
  }

  stopTrainingJob(input: Record<string, unknown>): object {
    const record = this.describeTrainingJob(input) as TrainingJobRecord;
    if (record.TrainingJobStatus === 'Stopping') return {};
    const run = this.#training.get(record.TrainingJobName);
    if (record.TrainingJobStatus !== 'InProgress' || !run) {
      throw validationError(`The request was rejected because the training job is in status ${record.TrainingJobStatus}.`);
    }
    run.stop('Stopped');
    return {};
  }

  listTrainingJobs(input: Record<string, unknown>): object {
    const { page, nextToken } = listPage(
      this.trainingJobs.values(),
      (j) => ({ name: j.TrainingJobName, status: j.TrainingJobStatus, creationTime: j.CreationTime, lastModifiedTime: j.LastModifiedTime }),
      input as ListRequest,
      JOB_STATUSES,
    );
    return {
      TrainingJobSummaries: page.map((j) => ({
        TrainingJobName: j.TrainingJobName,
        TrainingJobArn: j.TrainingJobArn,
        CreationTime: j.CreationTime,
        TrainingEndTime: j.TrainingEndTime,
        LastModifiedTime: j.LastModifiedTime,
        TrainingJobStatus: j.TrainingJobStatus,
        SecondaryStatus: j.SecondaryStatus,
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  createProcessingJob(input: Record<string, unknown>): object {
    validateCreateProcessingJob(input);
    const name = input.ProcessingJobName as string;
    const arn = this.#arn('processing-job', name);
    if (this.processingJobs.has(name)) {
      throw resourceInUse(`Job name must be unique within an AWS account and region, and a job with this name already exists (${arn})`);
    }
    const cluster = (input.ProcessingResources as ProcessingJobRecord['ProcessingResources']).ClusterConfig;
    this.#checkInstanceLimit(cluster.InstanceCount, cluster.InstanceType, 'processing job usage');
    const now = epochSeconds();
    const record = {
      ...input,
      ProcessingJobArn: arn,
      ProcessingJobStatus: 'InProgress',
      CreationTime: now,
      LastModifiedTime: now,
      ProcessingStartTime: now,
    } as ProcessingJobRecord;
    void this.processingJobs.save(name, record);
    const run = new ProcessingRun(this.ctx, record, (r) => this.processingJobs.save(name, r));
    this.#processing.set(name, run);
    void run.done.finally(() => this.#processing.delete(name));
    return { ProcessingJobArn: arn };
  }

  describeProcessingJob(input: Record<string, unknown>): object {
    const check = new RequestChecker();
    check.name(input.ProcessingJobName, 'ProcessingJobName');
    check.throwIfAny();
    const name = input.ProcessingJobName as string;
    const record = this.processingJobs.get(name);
    if (!record) throw validationError(`Could not find requested job with name ${name}`);
    return record;
  }

  stopProcessingJob(input: Record<string, unknown>): object {
    const record = this.describeProcessingJob(input) as ProcessingJobRecord;
    if (record.ProcessingJobStatus === 'Stopping') return {};
    const run = this.#processing.get(record.ProcessingJobName);
    if (record.ProcessingJobStatus !== 'InProgress' || !run) {
      throw validationError(`The request was rejected because the processing job is in status ${record.ProcessingJobStatus}.`);
    }
    run.stop();
    return {};
  }

  listProcessingJobs(input: Record<string, unknown>): object {
    const { page, nextToken } = listPage(
      this.processingJobs.values(),
      (j) => ({ name: j.ProcessingJobName, status: j.ProcessingJobStatus, creationTime: j.CreationTime, lastModifiedTime: j.LastModifiedTime }),
      input as ListRequest,
      JOB_STATUSES,
    );
    return {
      ProcessingJobSummaries: page.map((j) => ({
        ProcessingJobName: j.ProcessingJobName,
        ProcessingJobArn: j.ProcessingJobArn,
        CreationTime: j.CreationTime,
        ProcessingEndTime: j.ProcessingEndTime,
        LastModifiedTime: j.LastModifiedTime,
        ProcessingJobStatus: j.ProcessingJobStatus,
        FailureReason: j.FailureReason,
        ExitMessage: j.ExitMessage,
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  /** Kills every running job's processes and records the jobs as failed. */
  async shutdown(): Promise<void> {
    const runs = [...this.#training.values(), ...this.#processing.values()];
    for (const run of runs) run.abort(SHUTDOWN_REASON);
    await Promise.all(runs.map((run) => run.done));
    await Promise.all([this.trainingJobs.flush(), this.processingJobs.flush()]);
  }
}

export function validateCreateTrainingJob(input: Record<string, unknown>): void {
  const check = new RequestChecker();
  check.name(input.TrainingJobName, 'TrainingJobName');
  check.string(input.RoleArn, 'RoleArn', { required: true, min: 20, max: 2048, pattern: ROLE_ARN });
  if (check.object(input.AlgorithmSpecification, 'AlgorithmSpecification', true)) {
    const spec = input.AlgorithmSpecification;
    check.string(spec.TrainingInputMode, 'AlgorithmSpecification.TrainingInputMode', { required: true, oneOf: ['Pipe', 'File', 'FastFile'] });
    check.string(spec.TrainingImage, 'AlgorithmSpecification.TrainingImage', { required: true, max: 255 });
    check.custom(spec.TrainingInputMode === undefined || spec.TrainingInputMode === 'File', 'Local mode supports TrainingInputMode File only.');
    for (const field of ['ContainerEntrypoint', 'ContainerArguments'] as const) {
      if (check.array(spec[field], `AlgorithmSpecification.${field}`, { min: 1, max: 100 })) {
        (spec[field] as unknown[]).forEach((v, i) => check.string(v, `AlgorithmSpecification.${field}.${i + 1}`, { required: true, max: 256 }));
      }
    }
  }
  check.stringMap(input.HyperParameters, 'HyperParameters', { maxEntries: 100, maxKey: 256, maxValue: 2500 });
  if (check.array(input.InputDataConfig, 'InputDataConfig', { min: 1, max: 20 })) {
    const names = new Set<string>();
    input.InputDataConfig.forEach((channel, i) => {
      const at = `InputDataConfig.${i + 1}.member`;
      if (!check.object(channel, at, true)) return;
      if (check.string(channel.ChannelName, `${at}.ChannelName`, { required: true, max: 64, pattern: CHANNEL_NAME })) {
        check.custom(!names.has(channel.ChannelName), `Channel names must be unique; ${channel.ChannelName} appears more than once.`);
        names.add(channel.ChannelName);
      }
      if (!check.object(channel.DataSource, `${at}.DataSource`, true)) return;
      const source = channel.DataSource.S3DataSource;
      check.custom(source !== undefined, `Local mode supports S3DataSource channels only; channel ${String(channel.ChannelName)} has none.`);
      if (!check.object(source, `${at}.DataSource.S3DataSource`)) return;
      check.string(source.S3DataType, `${at}.DataSource.S3DataSource.S3DataType`, { required: true, oneOf: ['ManifestFile', 'S3Prefix', 'AugmentedManifestFile', 'Converse'] });
      check.custom(
        source.S3DataType === undefined || source.S3DataType === 'S3Prefix' || source.S3DataType === 'ManifestFile',
        `Local mode supports S3DataType S3Prefix and ManifestFile only; channel ${String(channel.ChannelName)} has ${String(source.S3DataType)}.`,
      );
      check.string(source.S3Uri, `${at}.DataSource.S3DataSource.S3Uri`, { required: true, max: 1024, pattern: S3_URI_PATTERN });
      check.string(source.S3DataDistributionType, `${at}.DataSource.S3DataSource.S3DataDistributionType`, { oneOf: ['FullyReplicated', 'ShardedByS3Key'] });
      check.string(channel.CompressionType, `${at}.CompressionType`, { oneOf: ['None', 'Gzip'] });
      check.string(channel.InputMode, `${at}.InputMode`, { oneOf: ['Pipe', 'File', 'FastFile'] });
    });
  }
  if (check.object(input.OutputDataConfig, 'OutputDataConfig', true)) {
    check.string(input.OutputDataConfig.S3OutputPath, 'OutputDataConfig.S3OutputPath', { required: true, max: 1024, pattern: S3_URI_PATTERN });
  }
  if (check.object(input.ResourceConfig, 'ResourceConfig', true)) {
    const resources = input.ResourceConfig;
    check.string(resources.InstanceType, 'ResourceConfig.InstanceType', { required: true, pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
    check.integer(resources.InstanceCount, 'ResourceConfig.InstanceCount', { required: true, min: 1 });
    check.integer(resources.VolumeSizeInGB, 'ResourceConfig.VolumeSizeInGB', { required: true, min: 1 });
  }
  if (check.object(input.StoppingCondition, 'StoppingCondition', true)) {
    const stopping = input.StoppingCondition;
    const runtime = stopping.MaxRuntimeInSeconds;
    check.integer(runtime, 'StoppingCondition.MaxRuntimeInSeconds', { min: 1, max: MAX_TRAINING_RUNTIME_SECONDS });
    check.integer(stopping.MaxWaitTimeInSeconds, 'StoppingCondition.MaxWaitTimeInSeconds', { min: 1 });
    if (input.EnableManagedSpotTraining === true) {
      const wait = stopping.MaxWaitTimeInSeconds;
      check.custom(
        typeof wait === 'number' && wait >= (typeof runtime === 'number' ? runtime : 86400),
        'Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds',
      );
    }
  }
  check.boolean(input.EnableManagedSpotTraining, 'EnableManagedSpotTraining');
  if (check.object(input.CheckpointConfig, 'CheckpointConfig')) {
    check.string(input.CheckpointConfig.S3Uri, 'CheckpointConfig.S3Uri', { required: true, max: 1024, pattern: S3_URI_PATTERN });
    check.string(input.CheckpointConfig.LocalPath, 'CheckpointConfig.LocalPath', { max: 4096 });
  }
  check.environment(input.Environment, 'Environment', { maxEntries: 100, maxKey: 512, maxValue: 512 });
  check.throwIfAny();
}

export function validateCreateProcessingJob(input: Record<string, unknown>): void {
  const check = new RequestChecker();
  check.name(input.ProcessingJobName, 'ProcessingJobName');
  check.string(input.RoleArn, 'RoleArn', { required: true, min: 20, max: 2048, pattern: ROLE_ARN });
  if (check.object(input.AppSpecification, 'AppSpecification', true)) {
    const app = input.AppSpecification;
    check.string(app.ImageUri, 'AppSpecification.ImageUri', { required: true, max: 256 });
    for (const field of ['ContainerEntrypoint', 'ContainerArguments'] as const) {
      if (check.array(app[field], `AppSpecification.${field}`, { min: 1, max: 100 })) {
        (app[field] as unknown[]).forEach((v, i) => check.string(v, `AppSpecification.${field}.${i + 1}`, { required: true, max: 256 }));
      }
    }
  }
  if (check.object(input.ProcessingResources, 'ProcessingResources', true) && check.object(input.ProcessingResources.ClusterConfig, 'ProcessingResources.ClusterConfig', true)) {
    const cluster = input.ProcessingResources.ClusterConfig;
    check.integer(cluster.InstanceCount, 'ProcessingResources.ClusterConfig.InstanceCount', { required: true, min: 1, max: 100 });
    check.string(cluster.InstanceType, 'ProcessingResources.ClusterConfig.InstanceType', { required: true, pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
    check.integer(cluster.VolumeSizeInGB, 'ProcessingResources.ClusterConfig.VolumeSizeInGB', { required: true, min: 1, max: 16384 });
  }
  if (check.array(input.ProcessingInputs, 'ProcessingInputs', { max: 10 })) {
    input.ProcessingInputs.forEach((entry, i) => {
      const at = `ProcessingInputs.${i + 1}.member`;
      if (!check.object(entry, at, true)) return;
      check.string(entry.InputName, `${at}.InputName`, { required: true });
      check.custom(entry.S3Input !== undefined, `Local mode supports S3Input processing inputs only; input ${String(entry.InputName)} has none.`);
      if (!check.object(entry.S3Input, `${at}.S3Input`)) return;
      const s3 = entry.S3Input;
      check.string(s3.S3Uri, `${at}.S3Input.S3Uri`, { required: true, max: 1024, pattern: S3_URI_PATTERN });
      if (check.string(s3.LocalPath, `${at}.S3Input.LocalPath`, { required: true, max: 256 })) {
        check.custom(s3.LocalPath.startsWith('/opt/ml/processing/'), `LocalPath ${s3.LocalPath} of input ${String(entry.InputName)} must start with /opt/ml/processing/.`);
      }
      check.string(s3.S3DataType, `${at}.S3Input.S3DataType`, { required: true, oneOf: ['ManifestFile', 'S3Prefix'] });
      check.custom(s3.S3DataType === undefined || s3.S3DataType === 'S3Prefix', `Local mode supports S3DataType S3Prefix only; input ${String(entry.InputName)} has ${String(s3.S3DataType)}.`);
      check.string(s3.S3InputMode, `${at}.S3Input.S3InputMode`, { oneOf: ['Pipe', 'File'] });
      check.string(s3.S3DataDistributionType, `${at}.S3Input.S3DataDistributionType`, { oneOf: ['FullyReplicated', 'ShardedByS3Key'] });
    });
  }
  if (check.object(input.ProcessingOutputConfig, 'ProcessingOutputConfig') && check.array(input.ProcessingOutputConfig.Outputs, 'ProcessingOutputConfig.Outputs', { required: true, max: 10 })) {
    input.ProcessingOutputConfig.Outputs.forEach((entry, i) => {
      const at = `ProcessingOutputConfig.Outputs.${i + 1}.member`;
      if (!check.object(entry, at, true)) return;
      check.string(entry.OutputName, `${at}.OutputName`, { required: true });
      if (!check.object(entry.S3Output, `${at}.S3Output`)) return;
      const s3 = entry.S3Output;
      check.string(s3.S3Uri, `${at}.S3Output.S3Uri`, { required: true, max: 1024, pattern: S3_URI_PATTERN });
      if (check.string(s3.LocalPath, `${at}.S3Output.LocalPath`, { required: true, max: 256 })) {
        check.custom(s3.LocalPath.startsWith('/opt/ml/processing/'), `LocalPath ${s3.LocalPath} of output ${String(entry.OutputName)} must start with /opt/ml/processing/.`);
      }
      check.string(s3.S3UploadMode, `${at}.S3Output.S3UploadMode`, { required: true, oneOf: ['Continuous', 'EndOfJob'] });
    });
  }
  if (check.object(input.StoppingCondition, 'StoppingCondition')) {
    check.integer(input.StoppingCondition.MaxRuntimeInSeconds, 'StoppingCondition.MaxRuntimeInSeconds', { required: true, min: 1, max: 777600 });
  }
  check.environment(input.Environment, 'Environment', { maxEntries: 100, maxKey: 256, maxValue: 256 });
  check.throwIfAny();
}
