import fs from 'node:fs/promises';
import path from 'node:path';
import { sagemakerPaths } from '../../../containers/shared/sagemaker-paths.js';

/** `algo-1` … `algo-n`, sorted as SageMaker sorts `hosts` (lexicographically). */
export function hostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `algo-${i + 1}`).sort();
}

/** The folder laid out as `/opt/ml` for one instance of a job. */
export function instanceBaseDir(jobsDir: string, jobName: string, host: string): string {
  return path.join(jobsDir, jobName, host);
}

/**
 * Maps a container path under `/opt/ml/` (LocalPath, CheckpointConfig.LocalPath) into the instance's
 * base folder; undefined for a path outside `/opt/ml`.
 */
export function containerPathToLocal(base: string, containerPath: string): string | undefined {
  const normalized = path.posix.normalize(containerPath);
  if (normalized !== '/opt/ml' && !normalized.startsWith('/opt/ml/')) return undefined;
  return path.join(base, normalized.slice('/opt/ml'.length));
}

export interface TrainingChannelConfig {
  name: string;
  contentType?: string;
  inputMode: string;
  distribution: string;
  recordWrapperType?: string;
}

/** SageMaker's training config files: resourceconfig.json, hyperparameters.json, inputdataconfig.json. */
export async function writeTrainingConfig(
  base: string,
  o: { host: string; hosts: readonly string[]; instanceType: string; hyperparameters: Record<string, string>; channels: readonly TrainingChannelConfig[] },
): Promise<void> {
  const paths = sagemakerPaths(base);
  await fs.mkdir(paths.inputConfig, { recursive: true });
  await Promise.all([
    fs.mkdir(paths.model, { recursive: true }),
    fs.mkdir(paths.outputData, { recursive: true }),
    fs.writeFile(paths.resourceConfig, JSON.stringify(resourceConfig(o.host, o.hosts, o.instanceType))),
    fs.writeFile(paths.hyperparameters, JSON.stringify(o.hyperparameters)),
    fs.writeFile(
      paths.inputDataConfig,
      JSON.stringify(
        Object.fromEntries(
          o.channels.map((c) => [
            c.name,
            {
              ...(c.contentType ? { ContentType: c.contentType } : {}),
              TrainingInputMode: c.inputMode,
              S3DistributionType: c.distribution,
              RecordWrapperType: c.recordWrapperType ?? 'None',
            },
          ]),
        ),
      ),
    ),
  ]);
}

/** Processing's `/opt/ml/config/processingjobconfig.json` (the request echo) and `resourceconfig.json`. */
export async function writeProcessingConfig(base: string, o: { host: string; hosts: readonly string[]; jobConfig: object }): Promise<void> {
  const paths = sagemakerPaths(base);
  await fs.mkdir(path.dirname(paths.processingConfig), { recursive: true });
  await Promise.all([
    fs.mkdir(paths.output, { recursive: true }),
    fs.writeFile(paths.processingConfig, JSON.stringify(o.jobConfig)),
    fs.writeFile(paths.processingResourceConfig, JSON.stringify({ current_host: o.host, hosts: o.hosts })),
  ]);
}

function resourceConfig(host: string, hosts: readonly string[], instanceType: string) {
  return {
    current_host: host,
    current_instance_type: instanceType,
    current_group_name: 'homogeneousCluster',
    hosts,
    instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: instanceType, hosts }],
    network_interface_name: 'eth0',
  };
}
