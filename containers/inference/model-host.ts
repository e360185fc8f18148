import type { Worker } from 'node:worker_threads';
import { startWorkerBeside } from '../shared/start-worker.js';
import { ERROR_CODES, InferenceError, type InferenceErrorCode } from './errors.js';
import { ModelShard, type LoadedModelInfo, type ReplayOptions } from './model-shard.js';

/** Where models live and are forecast: the HTTP thread itself, or one worker thread. */
export interface ModelHost {
  load(name: string, dir: string): Promise<LoadedModelInfo>;
  unload(name: string): Promise<void>;
  forecastJson(name: string, period: number): Promise<string>;
  close(): Promise<void>;
}

export type HostRequest =
  | { id: number; op: 'load'; name: string; dir: string }
  | { id: number; op: 'unload'; name: string }
  | { id: number; op: 'forecast'; name: string; period: number };

/** Errors lose their class and fields through postMessage, so they travel as plain data. */
export interface SerializedError {
  code: string;
  message: string;
  reason: string | undefined;
}

export type HostReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof InferenceError) return { code: error.code, message: error.message, reason: error.reason };
  return { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error), reason: undefined };
}

function deserializeError(error: SerializedError): InferenceError {
  const code: InferenceErrorCode = error.code in ERROR_CODES ? (error.code as InferenceErrorCode) : 'E_INTERNAL';
  return new InferenceError(code, error.message, { reason: error.reason });
}

/** Runs a request against a shard; shared by the in-process host and the worker entry point. */
export async function handleHostRequest(shard: ModelShard, request: HostRequest): Promise<unknown> {
  switch (request.op) {
    case 'load':
      return shard.load(request.name, request.dir);
    case 'unload':
      return shard.unload(request.name);
    case 'forecast':
      return shard.forecastJson(request.name, request.period);
  }
}

export class InProcessModelHost implements ModelHost {
  private constructor(private readonly shard: ModelShard) {}

  static async create(options: ReplayOptions): Promise<InProcessModelHost> {
    return new InProcessModelHost(await ModelShard.create(options));
  }

  load(name: string, dir: string): Promise<LoadedModelInfo> {
    return this.shard.load(name, dir);
  }

  async unload(name: string): Promise<void> {
    this.shard.unload(name);
  }

  async forecastJson(name: string, period: number): Promise<string> {
    return this.shard.forecastJson(name, period);
  }

  async close(): Promise<void> {
    this.shard.close();
  }
}

type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never;

export class WorkerModelHost implements ModelHost {
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    onFailure: (error: Error) => void,
  ) {
    worker.on('message', (reply: HostReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(deserializeError(reply.error));
    });
    const fail = (error: Error) => {
      if (this.#failure) return;
      this.#failure = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
      onFailure(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new InferenceError('E_INTERNAL', `A model worker thread exited with code ${code}.`)));
  }

  /** `onFailure` hears once if the thread dies: every model it held is gone with it. */
  static async create(options: ReplayOptions, onFailure: (error: Error) => void): Promise<WorkerModelHost> {
    const worker = startWorkerBeside(import.meta.url, 'model-host-worker', { workerData: options });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      const onExit = (code: number) => reject(new Error(`A model worker thread exited with code ${code} while starting.`));
      worker.once('error', onError).once('exit', onExit);
      worker.once('message', (message: unknown) => {
        worker.off('error', onError).off('exit', onExit);
        if (message === 'ready') resolve();
        else reject(new Error(`A model worker thread sent ${JSON.stringify(message)} instead of "ready".`));
      });
    });
    return new WorkerModelHost(worker, onFailure);
  }

  #call(request: Distributive<HostRequest>): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async load(name: string, dir: string): Promise<LoadedModelInfo> {
    return (await this.#call({ op: 'load', name, dir })) as LoadedModelInfo;
  }

  async unload(name: string): Promise<void> {
    await this.#call({ op: 'unload', name });
  }

  async forecastJson(name: string, period: number): Promise<string> {
    return (await this.#call({ op: 'forecast', name, period })) as string;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
