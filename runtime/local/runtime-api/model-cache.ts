import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { extractModelArchiveBytes } from '../../../containers/shared/model-artifact.js';
import { isNotFound, type InternalS3 } from '../s3/internal-client.js';
import { listFiles } from '../sagemaker/job-support.js';
import type { S3Location } from '../sagemaker/validation.js';
import { RuntimeError } from './errors.js';
import type { ContainerResponse, InferenceContainer } from './inference-container.js';

/** The opaque `model_name` SageMaker gives the container for a TargetModel. */
export function modelNameFor(targetModel: string): string {
  return createHash('sha256').update(targetModel).digest('hex').slice(0, 32);
}

interface LoadedModel {
  modelName: string;
  sizeBytes: number;
  inUse: number;
}

export interface ModelCacheOptions {
  endpoint: string;
  container: InferenceContainer;
  s3: InternalS3;
  /** The model's `ModelDataUrl`: TargetModel is a key relative to it. */
  modelData: S3Location;
  /** `<endpoint dir>/models`: each model unpacked at `<modelName>/model`, kept after unload as on an MME's volume. */
  modelsDir: string;
  /** Unpacked bytes the loaded models may take together; LRU models are unloaded to stay under it. */
  budgetBytes: number;
  /** On `POST /models` and on unload. */
  containerTimeoutMs: number;
  /** Upstream error for a container answer that is not a success. */
  containerError: (response: ContainerResponse) => RuntimeError;
  log: (line: string) => void;
}

/**
 * An MME's model cache: downloads TargetModel from S3 and unpacks it once, loads it into the
 * container with `POST /models`, keeps loaded models in least-recently-used order and unloads the
 * oldest idle ones when the budget is reached or the container answers 507. Concurrent first calls
 * for one model share one load.
 */
export class ModelCache {
  /** Map order is recency: a model is re-inserted on every use, so the first entry is the LRU one. */
  readonly #loaded = new Map<string, LoadedModel>();
  readonly #loading = new Map<string, Promise<LoadedModel>>();
  #usedBytes = 0;

  constructor(private readonly o: ModelCacheOptions) {}

  /** The loaded model for `targetModel`, loading it first if needed; call `release` when done. */
  acquire(targetModel: string): LoadedModel | Promise<LoadedModel> {
    const warm = this.#loaded.get(targetModel);
    if (warm) {
      this.#loaded.delete(targetModel);
      this.#loaded.set(targetModel, warm);
      warm.inUse++;
      return warm;
    }
    let loading = this.#loading.get(targetModel);
    if (!loading) {
      loading = this.#load(targetModel).finally(() => this.#loading.delete(targetModel));
      this.#loading.set(targetModel, loading);
    }
    return loading.then((model) => {
      model.inUse++;
      return model;
    });
  }

  release(model: LoadedModel): void {
    model.inUse--;
  }

  /** The container no longer has this model (it answered 404): forget it so the next call reloads. */
  forget(targetModel: string): void {
    const model = this.#loaded.get(targetModel);
    if (!model) return;
    this.#loaded.delete(targetModel);
    this.#usedBytes -= model.sizeBytes;
  }

  async #load(targetModel: string): Promise<LoadedModel> {
    const modelName = modelNameFor(targetModel);
    const dir = path.join(this.o.modelsDir, modelName, 'model');
    const sizeBytes = await this.#stage(targetModel, dir);
    await this.#makeRoom(sizeBytes, targetModel);
    for (;;) {
      const response = await this.o.container.request(
        'POST',
        '/models',
        { 'content-type': 'application/json', accept: 'application/json', 'x-amzn-sagemaker-target-model': targetModel },
        JSON.stringify({ model_name: modelName, url: dir }),
        this.o.containerTimeoutMs,
      );
      if (response.status === 200 || response.status === 409) break;
      if (response.status === 507 && (await this.#evictOne(targetModel))) continue;
      throw this.o.containerError(response);
    }
    const model: LoadedModel = { modelName, sizeBytes, inUse: 0 };
    this.#loaded.set(targetModel, model);
    this.#usedBytes += sizeBytes;
    return model;
  }

  /**
   * Downloads and unpacks the artifact unless an earlier load left it on disk; returns its unpacked
   * size. The archive is unpacked straight from the downloaded bytes into a scratch folder, which is
   * then renamed into place, so a load never reads a half-written model.
   */
  async #stage(targetModel: string, dir: string): Promise<number> {
    const existing = await folderSize(dir).catch(() => undefined);
    if (existing !== undefined) return existing;
    const base = this.o.modelData.key;
    const key = base === '' || base.endsWith('/') ? `${base}${targetModel}` : `${base}/${targetModel}`;
    let bytes: Uint8Array;
    try {
      bytes = await this.o.s3.getBytes(this.o.modelData.bucket, key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new RuntimeError(
        'ValidationError',
        `Failed to download model data(bucket: ${this.o.modelData.bucket}, key: ${key}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`,
      );
    }
    const scratch = path.join(this.o.modelsDir, `.staging-${randomBytes(6).toString('hex')}`);
    const discardScratch = () => fs.rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    let size: number;
    try {
      size = await extractModelArchiveBytes(bytes, path.posix.basename(key), scratch);
    } catch (error) {
      await discardScratch();
      throw new RuntimeError('ValidationError', `Failed to extract model data from s3://${this.o.modelData.bucket}/${key}: ${(error as Error).message}`);
    }
    try {
      await fs.mkdir(path.dirname(dir), { recursive: true });
      await fs.rename(scratch, dir);
    } catch (error) {
      await discardScratch();
      // Another load of the same model (after an unload) staged it first; theirs is identical.
      if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return size;
  }

  async #makeRoom(sizeBytes: number, keep: string): Promise<void> {
    while (this.#usedBytes + sizeBytes > this.o.budgetBytes) {
      if (!(await this.#evictOne(keep))) return;
    }
  }

  /** Unloads the least recently used idle model; false when there is none. */
  async #evictOne(keep: string): Promise<boolean> {
    for (const [targetModel, model] of this.#loaded) {
      if (model.inUse > 0 || targetModel === keep) continue;
      this.#loaded.delete(targetModel);
      this.#usedBytes -= model.sizeBytes;
      const response = await this.o.container.request('DELETE', `/models/${model.modelName}`, { 'x-amzn-sagemaker-target-model': targetModel }, undefined, this.o.containerTimeoutMs);
      if (response.status !== 200 && response.status !== 404) {
        this.o.log(`[${this.o.endpoint}] unloading ${targetModel} answered ${response.status}: ${response.body.toString('utf8').slice(0, 200)}`);
      }
      return true;
    }
    return false;
  }
}

async function folderSize(dir: string): Promise<number> {
  await fs.access(dir);
  const files = await listFiles(dir);
  const sizes = await Promise.all(files.map(async (rel) => (await fs.stat(path.join(dir, ...rel.split('/')))).size));
  return sizes.reduce((a, b) => a + b, 0);
}
