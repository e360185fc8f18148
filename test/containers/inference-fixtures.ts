import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import { extractModelArchive } from '../../containers/shared/model-artifact.js';
import { compiledContainerArgs } from '../../runtime/local/sagemaker/container-build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TrainedModels {
  /** Folder holding everything; remove it when done. */
  root: string;
  /** customerId → folder holding the unpacked `model.json`, as SageMaker hands it to the server. */
  dirs: Map<string, string>;
  /** customerId → the training output `checkpoints/<customerId>.tar.gz`. */
  archives: Map<string, string>;
}

/**
 * Lays out a training job under `root` as SageMaker does: one CSV per customer in the training
 * channel (`customers` daily series with weekly pattern and noise) and the hyperparameters. Returns
 * the customer ids.
 */
export async function writeTrainingJob(root: string, customers: number, hyperparameters: Record<string, string>): Promise<string[]> {
  const channel = path.join(root, 'input', 'data', 'train');
  await mkdir(channel, { recursive: true });
  await mkdir(path.join(root, 'checkpoints'), { recursive: true });
  const rows = new Map<string, string[]>();
  for (const chunk of datasetChunks({ customers, days: 365, weekly: 0.1, noise: 0.03, seed: 7 })) {
    for (const line of chunk.split('\n')) {
      const [id, timestamp, consumption] = line.split(',');
      if (!id || id === 'customer_id' || timestamp === undefined) continue;
      const list = rows.get(id) ?? [];
      list.push(`${timestamp},${consumption}`);
      rows.set(id, list);
    }
  }
  for (const [customerId, lines] of rows) {
    await writeFile(path.join(channel, `${customerId}.csv`), `timestamp,consumption\n${lines.join('\n')}\n`);
  }
  await mkdir(path.join(root, 'input', 'config'), { recursive: true });
  await writeFile(path.join(root, 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
  return [...rows.keys()];
}

/** Node flags and environment for a test's preload module; `source` runs the TypeScript under tsx. */
export interface ContainerPreload {
  nodeArgs: string[];
  env: Record<string, string>;
  /** For a preload that needs tsx's CommonJS hook, which would compile the build's ES modules as CommonJS. */
  source?: boolean;
}

/**
 * Runs the training container (`container train`) on the SageMaker layout under `root`: its exit
 * code and `output/failure`. It runs compiled, as the image and local mode run it
 * (container-build.js): under tsx the process and each worker thread paid a loader, about half the
 * CPU of training 100 customers.
 */
export async function runTrainingContainer(root: string, preload: ContainerPreload = { nodeArgs: [], env: {} }): Promise<{ code: number; failure: string }> {
  const cli = preload.source ? ['--import', 'tsx', path.join(ROOT, 'containers', 'cli.ts')] : compiledContainerArgs(ROOT);
  try {
    await promisify(execFile)(process.execPath, [...preload.nodeArgs, ...cli, 'train'], {
      env: { ...process.env, ...preload.env, SAGEMAKER_BASE_DIR: root },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, failure: '' };
  } catch (error) {
    return { code: (error as { code?: number }).code ?? -1, failure: await readFile(path.join(root, 'output', 'failure'), 'utf8').catch(() => '(no output/failure)') };
  }
}

/**
 * Trains one model for each of `customers` generated series by running the training container,
 * and unpacks each checkpoint archive to its own folder as SageMaker does before calling POST /models.
 */
export async function trainModels(customers: number, runId = 'run-test'): Promise<TrainedModels> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'inference-models-'));
  const customerIds = await writeTrainingJob(root, customers, { run_id: runId });
  const { code, failure } = await runTrainingContainer(root);
  if (code !== 0) throw new Error(`the training container failed: ${failure}`);
  const dirs = new Map<string, string>();
  const archives = new Map<string, string>();
  for (const customerId of customerIds) {
    const checkpoint = path.join(root, 'checkpoints', `${customerId}.tar.gz`);
    const dir = path.join(root, 'models', customerId, 'model');
    await extractModelArchive(checkpoint, dir);
    dirs.set(customerId, dir);
    archives.set(customerId, checkpoint);
  }
  return { root, dirs, archives };
}

export async function removeModels(models: TrainedModels): Promise<void> {
  await rm(models.root, { recursive: true, force: true });
}

export interface JsonResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** One HTTP request with a text body; the answer parsed as JSON when it is JSON. */
export async function request(base: string, method: string, route: string, body?: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (e.g. /ping's empty body): keep the text.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
