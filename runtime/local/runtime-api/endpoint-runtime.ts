import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import type { InternalS3 } from '../s3/internal-client.js';
import { containerCommand } from '../sagemaker/container-command.js';
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

/** A running multi-model endpoint: its inference container and model cache. */
export class EndpointRuntime {
  private constructor(
    readonly name: string,
    readonly variantName: string,
    private readonly container: InferenceContainer,
    private readonly cache: ModelCache,
    private readonly settings: RuntimeSettings,
    private readonly containerError: (response: ContainerResponse) => RuntimeError,
  ) {}

  static async start(o: {
    name: string;
    variantName: string;
    image: string;
    environment: Record<string, string>;
    modelData: S3Location;
    endpointDir: string;
    s3: InternalS3;
    settings: RuntimeSettings;
  }): Promise<EndpointRuntime> {
    const { settings } = o;
    const container = await InferenceContainer.start({
      name: o.name,
      command: containerCommand(o.image, { args: ['serve'] }),
      requestEnv: o.environment,
      env: { SAGEMAKER_BASE_DIR: o.endpointDir, AWS_REGION: settings.region },
      pidFile: path.join(o.endpointDir, 'container.pid'),
      log: settings.log,
      startupTimeoutMs: settings.containerStartupTimeoutMs,
    });
    const containerError = (response: ContainerResponse) =>
      modelError({ status: response.status, body: response.body.toString('utf8'), region: settings.region, accountId: settings.accountId, endpoint: o.name });
    const cache = new ModelCache({
      endpoint: o.name,
      container,
      s3: o.s3,
      modelData: o.modelData,
      modelsDir: path.join(o.endpointDir, 'models'),
      budgetBytes: settings.modelMemoryBudgetBytes,
      containerTimeoutMs: Math.max(settings.invocationTimeoutMs, 360_000),
      containerError,
      log: settings.log,
    });
    return new EndpointRuntime(o.name, o.variantName, container, cache, settings, containerError);
  }

  get port(): number {
    return this.container.port;
  }

  async invoke(request: InvokeRequest): Promise<ContainerResponse> {
    for (let attempt = 1; ; attempt++) {
      const model = await this.#acquire(request.targetModel);
      let response: ContainerResponse;
      try {
        const headers: Record<string, string> = { 'x-amzn-sagemaker-target-model': request.targetModel };
        for (const name of FORWARDED) {
          const value = request.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        response = await this.container
          .request('POST', `/models/${model.modelName}/invoke`, headers, request.body, this.settings.invocationTimeoutMs)
          .catch((error: Error) => {
            throw new RuntimeError('ModelError', `Received server error (0) from primary with message "Your invocation timed out while waiting for a response from container primary: ${error.message}".`, {
              ErrorCode: 'INTERNAL_FAILURE_FROM_MODEL',
              OriginalStatusCode: 0,
              OriginalMessage: error.message,
            });
          });
      } finally {
        this.cache.release(model);
      }
      // The container lost the model (it unloaded it itself): load it again once.
      if (response.status === 404 && attempt === 1) {
        this.cache.forget(request.targetModel);
        continue;
      }
      if (response.status !== 200) {
        throw this.containerError(response);
      }
      return response;
    }
  }

  /** The loaded model, or ModelNotReadyException when loading takes longer than the wait limit. */
  async #acquire(targetModel: string) {
    const acquired = this.cache.acquire(targetModel);
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
        if (gaveUp) this.cache.release(model);
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
    await this.container.stop(this.settings.stopGraceMs);
  }
}
