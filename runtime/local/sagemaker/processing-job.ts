import fs from 'node:fs/promises';
import path from 'node:path';
import { sagemakerPaths } from '../../../containers/shared/sagemaker-paths.js';
import { containerCommand } from './container-command.js';
import type { DistributionType } from './data-distribution.js';
import { describeExit, InstanceProcess, type InstanceExit } from './instance-process.js';
import { containerPathToLocal, hostNames, instanceBaseDir, writeProcessingConfig } from './instance-layout.js';
import { downloadInput, epochSeconds, readHead, uploadFolder, type JobContext } from './job-support.js';
import { parseS3Uri } from './validation.js';

/** The stored form of a processing job: DescribeProcessingJob's response (timestamps in epoch seconds). */
export interface ProcessingJobRecord {
  ProcessingJobName: string;
  ProcessingJobArn: string;
  ProcessingJobStatus: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  FailureReason?: string;
  ExitMessage?: string;
  CreationTime: number;
  LastModifiedTime: number;
  ProcessingStartTime?: number;
  ProcessingEndTime?: number;
  AppSpecification: { ImageUri: string; ContainerEntrypoint?: string[]; ContainerArguments?: string[] };
  ProcessingResources: { ClusterConfig: { InstanceCount: number; InstanceType: string; VolumeSizeInGB: number } };
  ProcessingInputs?: ProcessingInput[];
  ProcessingOutputConfig?: { Outputs: ProcessingOutput[]; KmsKeyId?: string };
  StoppingCondition?: { MaxRuntimeInSeconds: number };
  Environment?: Record<string, string>;
  RoleArn: string;
  [member: string]: unknown;
}

export interface ProcessingInput {
  InputName: string;
  S3Input?: { S3Uri: string; LocalPath: string; S3DataType: string; S3InputMode?: string; S3DataDistributionType?: DistributionType; [m: string]: unknown };
  [member: string]: unknown;
}

export interface ProcessingOutput {
  OutputName: string;
  S3Output?: { S3Uri: string; LocalPath: string; S3UploadMode: string };
  [member: string]: unknown;
}

/**
 * One processing job: inputs downloaded to each instance's LocalPaths, the container run once per
 * instance, outputs uploaded at the end (Continuous uploads are also made at the end locally).
 */
export class ProcessingRun {
  #stopRequested = false;
  #abortReason: string | undefined;
  #instances: InstanceProcess[] = [];
  readonly done: Promise<void>;

  constructor(
    private readonly ctx: JobContext,
    private readonly record: ProcessingJobRecord,
    private readonly save: (record: ProcessingJobRecord) => Promise<void>,
  ) {
    this.done = this.#run();
  }

  stop(): void {
    if (this.#stopRequested || this.record.ProcessingJobStatus !== 'InProgress') return;
    this.#stopRequested = true;
    this.record.ProcessingJobStatus = 'Stopping';
    this.record.LastModifiedTime = epochSeconds();
    void this.save(this.record);
    for (const instance of this.#instances) void instance.stop(this.ctx.stopGraceMs);
  }

  /** The server is shutting down: kill the instances now and record the job as failed. */
  abort(reason: string): void {
    if (this.record.ProcessingJobStatus !== 'InProgress' && this.record.ProcessingJobStatus !== 'Stopping') return;
    this.#abortReason = reason;
    for (const instance of this.#instances) instance.kill('SIGKILL');
  }

  async #run(): Promise<void> {
    const r = this.record;
    const name = r.ProcessingJobName;
    let timedOut = false;
    const limit = r.StoppingCondition?.MaxRuntimeInSeconds;
    const timer = limit
      ? setTimeout(() => {
          timedOut = true;
          for (const instance of this.#instances) void instance.stop(this.ctx.stopGraceMs);
        }, limit * 1000)
      : undefined;
    try {
      const command = containerCommand(r.AppSpecification.ImageUri, { entrypoint: r.AppSpecification.ContainerEntrypoint, args: r.AppSpecification.ContainerArguments });
      const hosts = hostNames(r.ProcessingResources.ClusterConfig.InstanceCount);
      const base = (host: string) => instanceBaseDir(this.ctx.jobsDir, name, host);
      const local = (host: string, containerPath: string) => {
        const mapped = containerPathToLocal(base(host), containerPath);
        if (!mapped) throw new Error(`ClientError: LocalPath ${containerPath} is not under /opt/ml/processing/`);
        return mapped;
      };
      await fs.rm(path.join(this.ctx.jobsDir, name), { recursive: true, force: true });
      const jobConfig = { ...stripStatus(r), ProcessingInputs: r.ProcessingInputs?.map((i) => (i.S3Input ? { ...i, S3Input: { ...i.S3Input, S3DownloadMode: 'StartOfJob' } } : i)) };
      for (const host of hosts) {
        await writeProcessingConfig(base(host), { host, hosts, jobConfig });
        for (const output of r.ProcessingOutputConfig?.Outputs ?? []) if (output.S3Output) await fs.mkdir(local(host, output.S3Output.LocalPath), { recursive: true });
      }
      for (const input of r.ProcessingInputs ?? []) {
        if (!input.S3Input) continue;
        const s3Input = input.S3Input;
        const source = parseS3Uri(s3Input.S3Uri);
        if (!source) throw new Error(`ClientError: input ${input.InputName} has S3Uri ${s3Input.S3Uri}, not s3://bucket/prefix`);
        const counts = await downloadInput(this.ctx.s3, source, s3Input.S3DataDistributionType ?? 'FullyReplicated', hosts, (host) => local(host, s3Input.LocalPath));
        this.ctx.log(`[${name}] input ${input.InputName}: ${[...counts].map(([h, n]) => `${h} ${n} objects`).join(', ')}`);
      }
      if (this.#abortReason) return await this.#finish('Failed', this.#abortReason);
      if (this.#stopRequested) return await this.#finish('Stopped');

      this.#instances = hosts.map(
        (host) =>
          new InstanceProcess({
            job: name,
            host,
            command,
            requestEnv: r.Environment ?? {},
            env: { SAGEMAKER_BASE_DIR: base(host), AWS_REGION: this.ctx.region },
            pidFile: path.join(this.ctx.jobsDir, name, `${host}.pid`),
            log: this.ctx.log,
          }),
      );
      const exits = await Promise.all(this.#instances.map((i) => i.exited.then((exit) => this.#onExit(exit))));
      const messages = await Promise.all(hosts.map((host) => readHead(sagemakerPaths(base(host)).message, 1024)));
      const exitMessage = messages.filter((m) => m !== undefined).join('').slice(0, 1024);
      if (exitMessage) r.ExitMessage = exitMessage;
      if (this.#abortReason) return await this.#finish('Failed', this.#abortReason);
      if (this.#stopRequested) return await this.#finish('Stopped');
      if (timedOut) return await this.#finish('Failed', `MaxRuntimeExceeded: the job ran longer than MaxRuntimeInSeconds (${limit} s) and was stopped`);
      const failure = exits.find((e) => e.code !== 0);
      if (failure) return await this.#finish('Failed', `AlgorithmError: ${describeExit(failure)}; see the job's log lines for more information`);
      for (const host of hosts) {
        for (const output of r.ProcessingOutputConfig?.Outputs ?? []) {
          if (!output.S3Output) continue;
          const target = parseS3Uri(output.S3Output.S3Uri);
          if (!target) throw new Error(`ClientError: output ${output.OutputName} has S3Uri ${output.S3Output.S3Uri}, not s3://bucket/prefix`);
          const count = await uploadFolder(this.ctx.s3, local(host, output.S3Output.LocalPath), target);
          this.ctx.log(`[${name}/${host}] output ${output.OutputName}: uploaded ${count} objects to ${output.S3Output.S3Uri}`);
        }
      }
      await this.#finish('Completed');
    } catch (error) {
      for (const instance of this.#instances) instance.kill('SIGKILL');
      const message = (error as Error).message;
      await this.#finish('Failed', message.startsWith('ClientError:') ? message : `InternalServerError: ${message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One instance failing ends the job: the others are stopped. */
  #onExit(exit: InstanceExit): InstanceExit {
    if (exit.code !== 0 && !this.#stopRequested) {
      for (const instance of this.#instances) void instance.stop(this.ctx.stopGraceMs);
    }
    return exit;
  }

  async #finish(status: 'Completed' | 'Failed' | 'Stopped', failureReason?: string): Promise<void> {
    const r = this.record;
    const now = epochSeconds();
    r.ProcessingJobStatus = status;
    if (failureReason) r.FailureReason = failureReason.slice(0, 1024);
    r.ProcessingStartTime ??= now;
    r.ProcessingEndTime = now;
    r.LastModifiedTime = now;
    this.ctx.log(`[${r.ProcessingJobName}] ${status}${failureReason ? `: ${failureReason}` : ''}`);
    await this.save(r);
  }
}

function stripStatus(r: ProcessingJobRecord): Record<string, unknown> {
  const { ProcessingJobStatus: _s, FailureReason: _f, ExitMessage: _e, CreationTime: _c, LastModifiedTime: _l, ProcessingStartTime: _ps, ProcessingEndTime: _pe, ...request } = r;
  return request;
}
