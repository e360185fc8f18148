import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { InternalS3 } from '../s3/internal-client.js';
import { containerCommand } from '../sagemaker/container-command.js';
import { describeExit } from '../sagemaker/instance-process.js';
import type { S3Location } from '../sagemaker/validation.js';
import { modelError, RuntimeError } from './errors.js';
import { InferenceContainer, type ContainerResponse } from './inference-container.js';
import { ModelCache } from './model-cache.js';

export interface RuntimeSettings {
  region: string;
  accountId: string;
  /** Unpacked model bytes an endpoint keeps loaded before unloading LRU models. */
  modelMemoryBudgetBytes: number;
  /** Longer than this, InvokeEndpoint answers ModelNotReadyException while the load goes on (AWS: 60 s). */
  modelLoadWaitMs: number;
  /** How long the container may take to answer one request (AWS: 60 s). */
  invocationTimeoutMs: number;
  containerStartupTimeoutMs: number;
  stopGraceMs: number;
  log: (line: string) => void;
}

export interface InvokeRequest {
  targetModel: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** Headers InvokeEndpoint forwards to the container. */
const FORWARDED = ['content-type', 'accept', 'x-amzn-sagemaker-custom-attributes', 'x-amzn-sagemaker-inference-id'];

/** What starting one inference container for an endpoint takes; kept to start a replacement. */
interface ContainerPlan {
  name: string;
  image: string;
  environment: Record<string, string>;
  modelData: S3Location;
  endpointDir: string;
  s3: InternalS3;
}

/** Waits between attempts to start a replacement container. */
const RESTART_DELAYS_MS = [0, 500, 2000, 5000, 10_000];

/**
 * A running multi-model endpoint: its inference container and model cache. When the container
 * dies, it is replaced as SageMaker replaces an unhealthy instance: a new container starts, the
 * models it held are forgotten and load again on their next invocation (from the disk cache), and
 * invocations meanwhile wait for it within the model wait limit, then get ModelNotReadyException,
 * which clients retry.
 */
export class EndpointRuntime {
  #container: InferenceContainer;
  #cache: ModelCache;
  #replacing: Promise<void> | undefined;
  #stopped = false;
  /** How many times the container was replaced since the endpoint started. */
  restarts = 0;

  private constructor(
    readonly name: string,
    readonly variantName: string,
    container: InferenceContainer,
    private readonly plan: ContainerPlan,
    private readonly settings: RuntimeSettings,
    private readonly containerError: (response: ContainerResponse) => RuntimeError,
  ) {
    this.#container = container;
    this.#cache = this.#newCache(container);
    this.#watch(container);
  }

  static async start(o: ContainerPlan & { variantName: string; settings: RuntimeSettings }): Promise<EndpointRuntime> {
    const { settings } = o;
    const container = await startContainer(o, settings);
    const containerError = (response: ContainerResponse) =>
      modelError({ status: response.status, body: response.body.toString('utf8'), region: settings.region, accountId: settings.accountId, endpoint: o.name });
    return new EndpointRuntime(o.name, o.variantName, container, o, settings, containerError);
  }

  get port(): number {
    return this.#container.port;
  }

  #newCache(container: InferenceContainer): ModelCache {
    return new ModelCache({
      endpoint: this.name,
      container,
      s3: this.plan.s3,
      modelData: this.plan.modelData,
      modelsDir: path.join(this.plan.endpointDir, 'models'),
      budgetBytes: this.settings.modelMemoryBudgetBytes,
      containerTimeoutMs: Math.max(this.settings.invocationTimeoutMs, 360_000),
      containerError: this.containerError,
      log: this.settings.log,
    });
  }

  #watch(container: InferenceContainer): void {
    void container.process.exited.then((exit) => {
      if (this.#stopped || container !== this.#container) return;
      this.settings.log(`[${this.name}] the inference container stopped unexpectedly (${describeExit(exit)}); starting a replacement`);
      this.#replacing ??= this.#replace().finally(() => (this.#replacing = undefined));
    });
  }

  async #replace(): Promise<void> {
    for (const [attempt, delayMs] of RESTART_DELAYS_MS.entries()) {
      await delay(delayMs);
      if (this.#stopped) return;
      try {
        const container = await startContainer(this.plan, this.settings);
        if (this.#stopped) {
          await container.stop(this.settings.stopGraceMs);
          return;
        }
        this.#container = container;
        this.#cache = this.#newCache(container);
        this.restarts++;
        this.#watch(container);
        this.settings.log(`[${this.name}] replacement inference container ready on port ${container.port}; models load again on demand`);
        return;
      } catch (error) {
        this.settings.log(`[${this.name}] replacement container attempt ${attempt + 1} failed: ${(error as Error).message}`);
      }
    }
  }

  /** Resolves once no replacement is under way, or throws ModelNotReadyException after the wait limit. */
  async #ready(targetModel: string): Promise<void> {
    const replacing = this.#replacing;
    if (!replacing) return;
    let timer: NodeJS.Timeout | undefined;
    const notReady = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RuntimeError('ModelNotReadyException', `Model ${targetModel} is not ready yet: the endpoint's instance is being replaced and the model will load again. Retry the request.`)),
        this.settings.modelLoadWaitMs,
      );
    });
    try {
      await Promise.race([replacing, notReady]);
    } finally {
      clearTimeout(timer);
    }
  }

  async invoke(request: InvokeRequest): Promise<ContainerResponse> {
    for (let attempt = 1; ; attempt++) {
      await this.#ready(request.targetModel);
      const container = this.#container;
      const cache = this.#cache;
      const model = await this.#acquire(cache, request.targetModel);
      let response: ContainerResponse;
      try {
        const headers: Record<string, string> = { 'x-amzn-sagemaker-target-model': request.targetModel };
        for (const name of FORWARDED) {
          const value = request.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        response = await container.request('POST', `/models/${model.modelName}/invoke`, headers, request.body, this.settings.invocationTimeoutMs).catch(async (error: Error) => {
          // The container died under this request: once it is replaced, the request is sent again once.
          if (attempt === 1 && (await exitedSoon(container))) return undefined;
          throw new RuntimeError('ModelError', `Received server error (0) from primary with message "Your invocation timed out while waiting for a response from container primary: ${error.message}".`, {
            ErrorCode: 'INTERNAL_FAILURE_FROM_MODEL',
            OriginalStatusCode: 0,
            OriginalMessage: error.message,
          });
        }) as ContainerResponse;
      } finally {
        cache.release(model);
      }
      if (response === undefined) continue;
      // The container lost the model (it unloaded it itself): load it again once.
      if (response.status === 404 && attempt === 1) {
        cache.forget(request.targetModel);
        continue;
      }
      if (response.status !== 200) {
        throw this.containerError(response);
      }
      return response;
    }
  }

  /** The loaded model, or ModelNotReadyException when loading takes longer than the wait limit. */
  async #acquire(cache: ModelCache, targetModel: string) {
    const acquired = cache.acquire(targetModel);
    if (!(acquired instanceof Promise)) return acquired;
    let gaveUp = false;
    let timer: NodeJS.Timeout | undefined;
    const notReady = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gaveUp = true;
        reject(new RuntimeError('ModelNotReadyException', `Model ${targetModel} is not ready yet; it is still being downloaded and loaded. Retry the request.`));
      }, this.settings.modelLoadWaitMs);
    });
    // The load goes on after the caller is told to retry; its claim on the model is then given back.
    acquired.then(
      (model) => {
        if (gaveUp) cache.release(model);
      },
      () => undefined,
    );
    try {
      return await Promise.race([acquired, notReady]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#replacing;
    await this.#container.stop(this.settings.stopGraceMs);
  }
}

function startContainer(plan: ContainerPlan, settings: RuntimeSettings): Promise<InferenceContainer> {
  return InferenceContainer.start({
    name: plan.name,
    command: containerCommand(plan.image, { args: ['serve'] }),
    requestEnv: plan.environment,
    env: { SAGEMAKER_BASE_DIR: plan.endpointDir, AWS_REGION: settings.region },
    pidFile: path.join(plan.endpointDir, 'container.pid'),
    log: settings.log,
    startupTimeoutMs: settings.containerStartupTimeoutMs,
  });
}

/** Whether the container's process has exited, or exits within a moment (a reset connection comes first). */
async function exitedSoon(container: InferenceContainer): Promise<boolean> {
  if (!container.process.running) return true;
  const exited = await Promise.race([container.process.exited.then(() => true), delay(1000).then(() => false)]);
  return exited;
}
