import fs from 'node:fs/promises';
import path from 'node:path';
import { sagemakerPaths } from '../../../containers/shared/sagemaker-paths.js';
import { CheckpointSync } from './checkpoint-sync.js';
import { containerCommand } from './container-command.js';
import type { DistributionType } from './data-distribution.js';
import { describeExit, InstanceProcess, type InstanceExit } from './instance-process.js';
import { containerPathToLocal, hostNames, instanceBaseDir, writeTrainingConfig } from './instance-layout.js';
import { downloadInput, downloadManifestInput, epochSeconds, readHead, tarFolder, type JobContext } from './job-support.js';
import { parseS3Uri } from './validation.js';

/** The stored form of a training job: DescribeTrainingJob's response (timestamps in epoch seconds). */
export interface TrainingJobRecord {
  TrainingJobName: string;
  TrainingJobArn: string;
  TrainingJobStatus: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  SecondaryStatus: string;
  SecondaryStatusTransitions: { Status: string; StartTime: number; EndTime?: number; StatusMessage: string }[];
  FailureReason?: string;
  ModelArtifacts: { S3ModelArtifacts?: string };
  CreationTime: number;
  LastModifiedTime: number;
  TrainingStartTime?: number;
  TrainingEndTime?: number;
  TrainingTimeInSeconds?: number;
  BillableTimeInSeconds?: number;
  AlgorithmSpecification: { TrainingImage: string; TrainingInputMode: string; ContainerEntrypoint?: string[]; ContainerArguments?: string[] };
  RoleArn: string;
  HyperParameters?: Record<string, string>;
  InputDataConfig: TrainingChannel[];
  OutputDataConfig: { S3OutputPath: string; KmsKeyId?: string; CompressionType?: string };
  ResourceConfig: { InstanceType: string; InstanceCount: number; VolumeSizeInGB: number };
  StoppingCondition: { MaxRuntimeInSeconds?: number; MaxWaitTimeInSeconds?: number };
  EnableManagedSpotTraining?: boolean;
  CheckpointConfig?: { S3Uri: string; LocalPath?: string };
  Environment?: Record<string, string>;
  [member: string]: unknown;
}

export interface TrainingChannel {
  ChannelName: string;
  DataSource: { S3DataSource: { S3DataType: string; S3Uri: string; S3DataDistributionType?: DistributionType } };
  ContentType?: string;
  InputMode?: string;
  RecordWrapperType?: string;
  [member: string]: unknown;
}

type StopReason = 'Stopped' | 'MaxRuntimeExceeded';

const MESSAGES: Record<string, string> = {
  Starting: 'Launching requested ML instances',
  Downloading: 'Downloading input data',
  Training: 'Training image download completed. Training in progress.',
  Uploading: 'Uploading generated training model',
  Completed: 'Training job completed',
  Failed: 'Training job failed',
  Stopping: 'Stopping the training job',
  Stopped: 'Training job stopped',
  MaxRuntimeExceeded: 'Training job stopped: the job ran longer than MaxRuntimeInSeconds',
};

/**
 * One training job: its instances as processes, from `Starting` through `Downloading`, `Training`
 * and `Uploading` to `Completed`, `Failed` or `Stopped`, saving the record at every transition.
 */
export class TrainingRun {
  #stopReason: StopReason | undefined;
  #abortReason: string | undefined;
  #instances: InstanceProcess[] = [];
  #stopping: Promise<unknown> | undefined;
  readonly done: Promise<void>;

  constructor(
    private readonly ctx: JobContext,
    private readonly record: TrainingJobRecord,
    private readonly save: (record: TrainingJobRecord) => Promise<void>,
  ) {
    this.done = this.#run();
  }

  /** StopTrainingJob, or the MaxRuntimeInSeconds limit. */
  stop(reason: StopReason): void {
    if (this.#stopReason || this.#isFinal()) return;
    this.#stopReason = reason;
    this.record.TrainingJobStatus = 'Stopping';
    void this.#transition('Stopping');
    this.#stopping = Promise.all(this.#instances.map((i) => i.stop(this.ctx.stopGraceMs)));
  }

  /** The server is shutting down: kill the instances now and record the job as failed. */
  abort(reason: string): void {
    if (this.#isFinal()) return;
    this.#abortReason = reason;
    for (const instance of this.#instances) instance.kill('SIGKILL');
  }

  #isFinal(): boolean {
    return ['Completed', 'Failed', 'Stopped'].includes(this.record.TrainingJobStatus);
  }

  async #transition(status: string, message = MESSAGES[status] ?? status): Promise<void> {
    const now = epochSeconds();
    const last = this.record.SecondaryStatusTransitions.at(-1);
    if (last && last.EndTime === undefined) last.EndTime = now;
    this.record.SecondaryStatusTransitions.push({ Status: status, StartTime: now, StatusMessage: message });
    this.record.SecondaryStatus = status;
    this.record.LastModifiedTime = now;
    this.ctx.log(`[${this.record.TrainingJobName}] ${this.record.TrainingJobStatus} - ${status}: ${message}`);
    await this.save(this.record);
  }

  async #run(): Promise<void> {
    const r = this.record;
    const runtimeLimit = r.StoppingCondition.MaxRuntimeInSeconds;
    const timer = runtimeLimit ? setTimeout(() => this.stop('MaxRuntimeExceeded'), runtimeLimit * 1000) : undefined;
    try {
      const command = containerCommand(r.AlgorithmSpecification.TrainingImage, {
        entrypoint: r.AlgorithmSpecification.ContainerEntrypoint,
        args: r.AlgorithmSpecification.ContainerEntrypoint ? r.AlgorithmSpecification.ContainerArguments : (r.AlgorithmSpecification.ContainerArguments ?? ['train']),
      });
      const hosts = hostNames(r.ResourceConfig.InstanceCount);
      const base = (host: string) => instanceBaseDir(this.ctx.jobsDir, r.TrainingJobName, host);
      await fs.rm(path.join(this.ctx.jobsDir, r.TrainingJobName), { recursive: true, force: true });
      await Promise.all(
        hosts.map((host) =>
          writeTrainingConfig(base(host), {
            host,
            hosts,
            instanceType: r.ResourceConfig.InstanceType,
            hyperparameters: r.HyperParameters ?? {},
            channels: r.InputDataConfig.map((c) => ({
              name: c.ChannelName,
              contentType: c.ContentType,
              inputMode: c.InputMode ?? r.AlgorithmSpecification.TrainingInputMode,
              distribution: c.DataSource.S3DataSource.S3DataDistributionType ?? 'FullyReplicated',
              recordWrapperType: c.RecordWrapperType,
            })),
          }),
        ),
      );

      await this.#transition('Downloading');
      for (const channel of r.InputDataConfig) {
        const source = parseS3Uri(channel.DataSource.S3DataSource.S3Uri);
        if (!source) throw new Error(`ClientError: channel ${channel.ChannelName} has S3Uri ${channel.DataSource.S3DataSource.S3Uri}, not s3://bucket/prefix`);
        const download = channel.DataSource.S3DataSource.S3DataType === 'ManifestFile' ? downloadManifestInput : downloadInput;
        const counts = await download(this.ctx.s3, source, channel.DataSource.S3DataSource.S3DataDistributionType ?? 'FullyReplicated', hosts, (host) =>
          sagemakerPaths(base(host)).channel(channel.ChannelName),
        );
        this.ctx.log(`[${r.TrainingJobName}] channel ${channel.ChannelName}: ${[...counts].map(([h, n]) => `${h} ${n} objects`).join(', ')}`);
      }
      const syncs = await this.#restoreCheckpoints(hosts, base);
      if (this.#abortReason) return await this.#finish('Failed', this.#abortReason);
      if (this.#stopReason) return await this.#finishStopped(hosts, base, syncs);

      r.TrainingStartTime = epochSeconds();
      await this.#transition('Training');
      this.#instances = hosts.map(
        (host) =>
          new InstanceProcess({
            job: r.TrainingJobName,
            host,
            command,
            requestEnv: r.Environment ?? {},
            env: {
              SAGEMAKER_BASE_DIR: base(host),
              TRAINING_JOB_NAME: r.TrainingJobName,
              TRAINING_JOB_ARN: r.TrainingJobArn,
              AWS_REGION: this.ctx.region,
            },
            pidFile: path.join(this.ctx.jobsDir, r.TrainingJobName, `${host}.pid`),
            log: this.ctx.log,
          }),
      );
      for (const sync of syncs) sync?.start(this.ctx.checkpointIntervalMs);
      const failure = await this.#waitForInstances();
      await this.#stopping;
      const exited = performance.now();
      await Promise.all(syncs.map((s) => s?.finish()));
      if (r.CheckpointConfig) this.ctx.log(`[${r.TrainingJobName}] instances exited; last checkpoints uploaded in ${((performance.now() - exited) / 1000).toFixed(1)} s`);
      if (this.#abortReason) return await this.#finish('Failed', this.#abortReason);
      if (this.#stopReason) return await this.#finishStopped(hosts, base, []);
      if (failure) {
        const reason = (await readHead(sagemakerPaths(base(failure.host)).failure, 1024)) ?? `AlgorithmError: ${describeExit(failure)}; see the job's log lines for more information`;
        return await this.#finish('Failed', reason);
      }
      await this.#transition('Uploading');
      await this.#uploadArtifacts(hosts, base);
      await this.#finish('Completed');
    } catch (error) {
      for (const instance of this.#instances) instance.kill('SIGKILL');
      const message = (error as Error).message;
      await this.#finish('Failed', message.startsWith('ClientError:') ? message : `InternalServerError: ${message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async #restoreCheckpoints(hosts: readonly string[], base: (host: string) => string): Promise<(CheckpointSync | undefined)[]> {
    const config = this.record.CheckpointConfig;
    if (!config) return hosts.map(() => undefined);
    const target = parseS3Uri(config.S3Uri);
    if (!target) throw new Error(`ClientError: CheckpointConfig.S3Uri ${config.S3Uri} is not s3://bucket/prefix`);
    return Promise.all(
      hosts.map(async (host) => {
        const local = containerPathToLocal(base(host), config.LocalPath ?? '/opt/ml/checkpoints');
        if (!local) throw new Error(`ClientError: CheckpointConfig.LocalPath ${config.LocalPath} is not under /opt/ml`);
        const sync = new CheckpointSync(this.ctx.s3, local, target, (line) => this.ctx.log(`[${this.record.TrainingJobName}/${host}] ${line}`));
        const restored = await sync.restore();
        if (restored > 0) this.ctx.log(`[${this.record.TrainingJobName}/${host}] restored ${restored} checkpoints from ${config.S3Uri}`);
        return sync;
      }),
    );
  }

  /** Resolves with the first instance that failed, after every instance has exited. */
  async #waitForInstances(): Promise<InstanceExit | undefined> {
    let failure: InstanceExit | undefined;
    await Promise.all(
      this.#instances.map(async (instance) => {
        const exit = await instance.exited;
        if (exit.code === 0 || failure || this.#stopReason) return;
        failure = exit;
        this.ctx.log(`[${this.record.TrainingJobName}] ${describeExit(exit)}; stopping the other instances`);
        await Promise.all(this.#instances.map((i) => i.stop(this.ctx.stopGraceMs)));
      }),
    );
    return failure;
  }

  async #uploadArtifacts(hosts: readonly string[], base: (host: string) => string): Promise<void> {
    const r = this.record;
    const output = parseS3Uri(r.OutputDataConfig.S3OutputPath);
    if (!output) throw new Error(`ClientError: S3OutputPath ${r.OutputDataConfig.S3OutputPath} is not s3://bucket/prefix`);
    const jobDir = path.join(this.ctx.jobsDir, r.TrainingJobName);
    const prefix = `${output.key === '' || output.key.endsWith('/') ? output.key : `${output.key}/`}${r.TrainingJobName}/output/`;
    // Every instance's /opt/ml/model goes into the one model.tar.gz; the first host wins a name clash.
    for (const [folder, archive, source] of [
      ['model-merged', 'model.tar.gz', (h: string) => sagemakerPaths(base(h)).model],
      ['output-merged', 'output.tar.gz', (h: string) => sagemakerPaths(base(h)).outputData],
    ] as const) {
      const merged = path.join(jobDir, folder);
      await fs.mkdir(merged, { recursive: true });
      for (const host of hosts) await fs.cp(source(host), merged, { recursive: true, force: false, errorOnExist: false }).catch(ignoreMissing);
      const file = path.join(jobDir, archive);
      await tarFolder(merged, file);
      await this.ctx.s3.upload(output.bucket, `${prefix}${archive}`, file, 'application/x-tar');
    }
    r.ModelArtifacts = { S3ModelArtifacts: `s3://${output.bucket}/${prefix}model.tar.gz` };
  }

  async #finishStopped(hosts: readonly string[], base: (host: string) => string, syncs: (CheckpointSync | undefined)[]): Promise<void> {
    await Promise.all(syncs.map((s) => s?.finish()));
    await this.#transition('Uploading');
    await this.#uploadArtifacts(hosts, base);
    await this.#finish('Stopped', undefined, this.#stopReason ?? 'Stopped');
  }

  async #finish(status: 'Completed' | 'Failed' | 'Stopped', failureReason?: string, secondary: string = status): Promise<void> {
    const r = this.record;
    const now = epochSeconds();
    r.TrainingJobStatus = status;
    if (failureReason) r.FailureReason = failureReason.slice(0, 1024);
    r.TrainingEndTime = now;
    if (r.TrainingStartTime !== undefined) {
      r.TrainingTimeInSeconds = Math.max(1, Math.round(now - r.TrainingStartTime));
      r.BillableTimeInSeconds = r.TrainingTimeInSeconds;
    }
    await this.#transition(secondary);
    const last = r.SecondaryStatusTransitions.at(-1);
    if (last) last.EndTime = now;
    await this.save(r);
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
