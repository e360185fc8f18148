import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { CUSTOMER_ID_PATTERN, fileSha256, isTemporaryArchiveName, readModelArchive, writeFileAtomic } from '../shared/model-artifact.js';
import type { ModelMetrics } from '../shared/model-artifact.js';
import type { SagemakerPaths } from '../shared/sagemaker-paths.js';
import { parseHyperparameters } from './hyperparameters.js';
import type { TrainingSettings } from './hyperparameters.js';
import { ProgressReporter } from './progress.js';
import type { CustomerTask } from './train-customer.js';
import { trainInWorkers } from './worker-pool.js';
import { workerThreadsFor } from './worker-threads.js';
import type { CustomerOutcome } from './worker-pool.js';

/**
 * One host's part of a training job (SageMaker's training contract): the customers in this
 * host's shard of the `train` channel, each trained once into `checkpoints/<customerId>.tar.gz`.
 */

export const TRAIN_CHANNEL = 'train';

export class TrainingSetupError extends Error {
  override name = 'TrainingSetupError';
}

export interface Hosts {
  current: string;
  all: string[];
}

export type CustomerResult =
  | { customerId: string; status: 'trained' | 'resumed'; mae: number; seasonalNaiveMae: number; wape: number; ms?: number }
  | { customerId: string; status: 'failed'; reason: string; ms?: number }
  | { customerId: string; status: 'interrupted' };

export interface HostSummary {
  host: string;
  hosts: string[];
  runId: string;
  status: 'succeeded' | 'failed' | 'interrupted';
  startedAt: string;
  finishedAt: string;
  customers: { total: number; trained: number; resumed: number; failed: number; interrupted: number };
  failedFraction: number;
  maxFailedFraction: number;
  /** Over every model of this host (trained now or resumed): mean holdout errors. */
  holdout: { models: number; meanMae: number | null; meanSeasonalNaiveMae: number | null; meanWape: number | null; beatsSeasonalNaive: number | null };
  timing: { wallSeconds: number; workers: number; modelsPerSecond: number; cpuMsPerModel: number | null };
  settings: TrainingSettings;
  results: CustomerResult[];
}

async function readJson(file: string, what: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TrainingSetupError(`${what} (${file}) is not valid JSON: ${(error as Error).message}`);
  }
}

/** `resourceconfig.json`; absent (local runs) means one host, `algo-1`. */
async function readHosts(paths: SagemakerPaths): Promise<Hosts> {
  const raw = (await readJson(paths.resourceConfig, 'resourceconfig.json')) as { current_host?: unknown; hosts?: unknown } | undefined;
  if (raw === undefined) return { current: 'algo-1', all: ['algo-1'] };
  const { current_host: current, hosts } = raw;
  if (typeof current !== 'string' || !Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string') || !hosts.includes(current)) {
    throw new TrainingSetupError(`resourceconfig.json (${paths.resourceConfig}) must have current_host (a string) listed in hosts (an array of strings)`);
  }
  return { current, all: hosts as string[] };
}

/**
 * With ShardedByS3Key SageMaker already gave this host its own files. With FullyReplicated every
 * host sees every file, so each takes its share by position in the sorted list.
 */
async function isFullyReplicated(paths: SagemakerPaths): Promise<boolean> {
  const raw = (await readJson(paths.inputDataConfig, 'inputdataconfig.json')) as Record<string, { S3DistributionType?: unknown }> | undefined;
  return raw?.[TRAIN_CHANNEL]?.S3DistributionType === 'FullyReplicated';
}

/** Every `<customerId>.csv` under the channel (SageMaker keeps S3 sub-folders). */
async function listCustomerFiles(dir: string): Promise<{ files: Map<string, string>; duplicates: CustomerResult[] }> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TrainingSetupError(`the ${TRAIN_CHANNEL} channel is missing: no folder ${dir}; expected one <customerId>.csv per customer from the processing job`);
    }
    throw error;
  }
  const files = new Map<string, string>();
  const duplicates: CustomerResult[] = [];
  const found = entries
    .filter((e) => e.isFile() && e.name.endsWith('.csv'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  for (const file of found) {
    const customerId = path.basename(file, '.csv');
    if (!CUSTOMER_ID_PATTERN.test(customerId)) continue;
    if (files.has(customerId)) {
      duplicates.push({ customerId, status: 'failed', reason: `two files for one customer: ${files.get(customerId)} and ${file}` });
      continue;
    }
    files.set(customerId, file);
  }
  return { files, duplicates };
}

/**
 * A checkpoint is reused only if it reads back as a valid model for the same customer, run,
 * settings and input file; anything else is retrained (and overwritten atomically).
 */
async function reusableCheckpoint(task: CustomerTask, settings: TrainingSettings): Promise<{ metrics: ModelMetrics } | { stale: string } | undefined> {
  let doc;
  try {
    doc = await readModelArchive(task.checkpoint);
  } catch (error) {
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
    return { stale: (error as Error).message };
  }
  if (doc.customerId !== task.customerId) return { stale: `it holds customer ${doc.customerId}` };
  if (doc.runId !== settings.runId) return { stale: `it is from run ${doc.runId}, not ${settings.runId}` };
  if (JSON.stringify(doc.prophet) !== JSON.stringify(settings.prophet) || doc.metrics.holdoutDays !== settings.holdoutDays) {
    return { stale: 'it was trained with other settings' };
  }
  if (doc.source?.sha256 !== (await fileSha256(task.file))) return { stale: 'its input file has changed' };
  return { metrics: doc.metrics };
}

/** Customer ids in numeric-aware order; one collator, as `localeCompare` with options builds one a call. */
const byCustomerId = new Intl.Collator('en', { numeric: true }).compare;

/** Runs `fn` over `items` with at most `limit` in flight. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function failureReason(summary: HostSummary): string {
  const failed = summary.results.filter((r): r is Extract<CustomerResult, { status: 'failed' }> => r.status === 'failed');
  const head =
    `training failed on host ${summary.host}: ${failed.length} of ${summary.customers.total} customers failed ` +
    `(${(summary.failedFraction * 100).toFixed(1)}%, over max_failed_fraction ${(summary.maxFailedFraction * 100).toFixed(1)}%). First failures: `;
  return (head + failed.slice(0, 5).map((f) => `${f.customerId}: ${f.reason}`).join('; ')).slice(0, 1024);
}

export interface TrainingJobOptions {
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Progress and notices; defaults to stderr. */
  log?: (line: string) => void;
  /** How long in-flight customers may finish after the signal fires. */
  graceMs?: number;
}

export interface TrainingJobResult {
  summary: HostSummary;
  /** The failure reason when the job failed (also written to `output/failure`). */
  failure?: string;
}

/** Trains this host's shard. Throws `TrainingSetupError`/`HyperparameterError` for a bad setup. */
export async function runTrainingJob(paths: SagemakerPaths, options: TrainingJobOptions): Promise<TrainingJobResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const startedAt = new Date();
  const cpuStart = process.cpuUsage();
  const settings = parseHyperparameters((await readJson(paths.hyperparameters, 'hyperparameters.json')) ?? {}, options.env);
  const hosts = await readHosts(paths);
  const channel = paths.channel(TRAIN_CHANNEL);
  const { files, duplicates } = await listCustomerFiles(channel);
  let customers = [...files.keys()].sort();
  if (hosts.all.length > 1 && (await isFullyReplicated(paths))) {
    const index = [...hosts.all].sort().indexOf(hosts.current);
    customers = customers.filter((_, i) => i % hosts.all.length === index);
  }
  if (customers.length === 0 && duplicates.length === 0 && hosts.all.length === 1) {
    throw new TrainingSetupError(`no customer files in the ${TRAIN_CHANNEL} channel (${channel}); expected <customerId>.csv files from the processing job`);
  }

  // A job killed while writing leaves temporary files behind (and the checkpoint sync may restore them).
  const checkpointNames = await readdir(paths.checkpoints).catch(() => [] as string[]);
  await Promise.all(checkpointNames.filter(isTemporaryArchiveName).map((name) => rm(path.join(paths.checkpoints, name), { force: true })));
  const checkpointed = new Set(checkpointNames);

  const results = new Map<string, CustomerResult>();
  const tasks: CustomerTask[] = [];
  await forEachLimited(customers, 16, async (customerId) => {
    const task = { customerId, file: files.get(customerId) as string, checkpoint: path.join(paths.checkpoints, `${customerId}.tar.gz`) };
    // Most nights start with no checkpoint: only a listed archive is opened.
    const reuse = checkpointed.has(`${customerId}.tar.gz`) ? await reusableCheckpoint(task, settings) : undefined;
    if (reuse && 'metrics' in reuse) {
      const { mae, seasonalNaiveMae, wape } = reuse.metrics;
      results.set(customerId, { customerId, status: 'resumed', mae, seasonalNaiveMae, wape });
      return;
    }
    if (reuse) log(`[train ${hosts.current}] retraining ${customerId}: its checkpoint cannot be reused (${reuse.stale})`);
    tasks.push(task);
  });
  tasks.sort((a, b) => a.customerId.localeCompare(b.customerId));

  const total = customers.length + duplicates.length;
  const progress = new ProgressReporter({ host: hosts.current, total, alreadyDone: results.size, log });
  progress.start();
  const record = (outcome: CustomerOutcome) => {
    progress.record(outcome.status);
    if (outcome.status === 'trained') {
      const { mae, seasonalNaiveMae, wape } = outcome.metrics;
      results.set(outcome.customerId, { customerId: outcome.customerId, status: 'trained', mae, seasonalNaiveMae, wape, ms: Math.round(outcome.ms) });
    } else if (outcome.status === 'failed') {
      results.set(outcome.customerId, { customerId: outcome.customerId, status: 'failed', reason: outcome.reason, ms: Math.round(outcome.ms) });
    } else {
      results.set(outcome.customerId, { customerId: outcome.customerId, status: 'interrupted' });
    }
  };
  try {
    await trainInWorkers(tasks, settings, { signal: options.signal, graceMs: options.graceMs ?? 10_000, onOutcome: record });
  } finally {
    progress.stop();
  }
  for (const task of tasks) if (!results.has(task.customerId)) results.set(task.customerId, { customerId: task.customerId, status: 'interrupted' });

  const all = [...results.values(), ...duplicates].sort((a, b) => byCustomerId(a.customerId, b.customerId));
  const count = (status: CustomerResult['status']) => all.filter((r) => r.status === status).length;
  const evaluated = all.filter((r): r is Extract<CustomerResult, { mae: number }> => r.status === 'trained' || r.status === 'resumed');
  const failed = count('failed');
  const trained = count('trained');
  const interrupted = count('interrupted');
  const wallSeconds = (Date.now() - startedAt.getTime()) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const failedFraction = total === 0 ? 0 : failed / total;
  const status = interrupted > 0 || options.signal.aborted ? 'interrupted' : failedFraction > settings.maxFailedFraction ? 'failed' : 'succeeded';
  const summary: HostSummary = {
    host: hosts.current,
    hosts: hosts.all,
    runId: settings.runId,
    status,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    customers: { total, trained, resumed: count('resumed'), failed, interrupted },
    failedFraction,
    maxFailedFraction: settings.maxFailedFraction,
    holdout: {
      models: evaluated.length,
      meanMae: mean(evaluated.map((r) => r.mae)),
      meanSeasonalNaiveMae: mean(evaluated.map((r) => r.seasonalNaiveMae)),
      meanWape: mean(evaluated.map((r) => r.wape)),
      beatsSeasonalNaive: mean(evaluated.map((r) => (r.mae < r.seasonalNaiveMae ? 1 : 0))),
    },
    timing: {
      wallSeconds,
      workers: workerThreadsFor(settings, tasks.length),
      modelsPerSecond: wallSeconds > 0 ? trained / wallSeconds : 0,
      // Worker threads share the process, so the process's CPU time covers every fit.
      cpuMsPerModel: trained > 0 ? (cpu.user + cpu.system) / 1000 / trained : null,
    },
    settings,
    results: all,
  };
  await writeFileAtomic(path.join(paths.model, `summary-${hosts.current}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  progress.finish(summary);
  return status === 'failed' ? { summary, failure: failureReason(summary) } : { summary };
}
