import type { Worker } from 'node:worker_threads';
import { startWorkerBeside } from '../shared/start-worker.js';
import { stopWorker } from '../shared/worker-stop.js';
import { ERROR_CODES, InferenceError, type InferenceErrorCode } from './errors.js';
import type { ThreadMemory } from './memory-budget.js';
import type { LoadOutcome, ModelShard, ReplayOptions } from './model-shard.js';

/** Where models live and are forecast: the HTTP thread itself, or one worker thread. */
export interface ModelHost {
  /** What the thread held when it started, before any model. */
  readonly startMemory: ThreadMemory;
  /** What the thread holds, as measured with its latest answer. */
  readonly memory: ThreadMemory;
  /** Loads the model unless that grows the thread's WebAssembly memory by more than `allowanceBytes`. */
  load(name: string, dir: string, allowanceBytes: number): Promise<LoadOutcome>;
  unload(name: string): Promise<void>;
  forecastJson(name: string, period: number): Promise<string>;
  /** Sets the garbage its V8 heap may hold before it is collected; applies to every request after it. */
  limitGarbage(allowanceBytes: number): Promise<void>;
  /** Resolves once no request to it is under way. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export type HostRequest =
  | { id: number; op: 'load'; name: string; dir: string; allowanceBytes: number }
  | { id: number; op: 'unload'; name: string }
  | { id: number; op: 'forecast'; name: string; period: number }
  | { id: number; op: 'limit-garbage'; allowanceBytes: number };

/** Errors lose their class and fields through postMessage, so they travel as plain data. */
export interface SerializedError {
  code: string;
  message: string;
  reason: string | undefined;
}

/** Every reply carries the thread's memory measured right after the request, so the server's figures are never older than its last answer. */
export type HostReply = { id: number; memory: ThreadMemory } & ({ ok: true; value: unknown } | { ok: false; error: SerializedError });

/** The worker's first message, once Prophet is loaded: what it holds before any model. */
export interface HostReady {
  ready: true;
  memory: ThreadMemory;
}

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
      return shard.load(request.name, request.dir, request.allowanceBytes);
    case 'unload':
      return shard.unload(request.name);
    case 'forecast':
      return shard.forecastJson(request.name, request.period);
    case 'limit-garbage':
      return shard.limitGarbage(request.allowanceBytes);
  }
}

export class InProcessModelHost implements ModelHost {
  readonly startMemory: ThreadMemory;

  private constructor(private readonly shard: ModelShard) {
    this.startMemory = shard.memory();
  }

  static async create(options: ReplayOptions): Promise<InProcessModelHost> {
    // Imported here: with worker threads the HTTP thread never loads Prophet's modules.
    const { ModelShard } = await import('./model-shard.js');
    return new InProcessModelHost(await ModelShard.create(options));
  }

  get memory(): ThreadMemory {
    return this.shard.memory();
  }

  load(name: string, dir: string, allowanceBytes: number): Promise<LoadOutcome> {
    return this.shard.load(name, dir, allowanceBytes);
  }

  async unload(name: string): Promise<void> {
    this.shard.unload(name);
  }

  async forecastJson(name: string, period: number): Promise<string> {
    return this.shard.forecastJson(name, period);
  }

  async limitGarbage(allowanceBytes: number): Promise<void> {
    this.shard.limitGarbage(allowanceBytes);
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    this.shard.close();
  }
}

type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never;

export class WorkerModelHost implements ModelHost {
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #drained: (() => void)[] = [];
  #nextId = 0;
  #failure: Error | undefined;
  #memory: ThreadMemory;

  private constructor(
    private readonly worker: Worker,
    readonly startMemory: ThreadMemory,
    onFailure: (error: Error) => void,
  ) {
    this.#memory = startMemory;
    worker.on('message', (reply: HostReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      this.#memory = reply.memory;
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(deserializeError(reply.error));
      this.#settleDrain();
    });
    const fail = (error: Error) => {
      if (this.#failure) return;
      this.#failure = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
      this.#settleDrain();
      onFailure(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new InferenceError('E_INTERNAL', `A model worker thread exited with code ${code}.`)));
  }

  /** `onFailure` hears once if the thread dies: every model it held is gone with it. */
  static async create(options: ReplayOptions, onFailure: (error: Error) => void): Promise<WorkerModelHost> {
    const worker = startWorkerBeside(import.meta.url, 'model-host-worker', { workerData: options });
    const ready = await new Promise<HostReady>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      const onExit = (code: number) => reject(new Error(`A model worker thread exited with code ${code} while starting.`));
      worker.once('error', onError).once('exit', onExit);
      worker.once('message', (message: Partial<HostReady> | undefined) => {
        worker.off('error', onError).off('exit', onExit);
        if (message?.ready === true && message.memory) resolve(message as HostReady);
        else reject(new Error(`A model worker thread sent ${JSON.stringify(message)} instead of its ready message.`));
      });
    });
    return new WorkerModelHost(worker, ready.memory, onFailure);
  }

  get memory(): ThreadMemory {
    return this.#memory;
  }

  drain(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #settleDrain(): void {
    if (this.#pending.size > 0) return;
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  #call(request: Distributive<HostRequest>): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async load(name: string, dir: string, allowanceBytes: number): Promise<LoadOutcome> {
    return (await this.#call({ op: 'load', name, dir, allowanceBytes })) as LoadOutcome;
  }

  async unload(name: string): Promise<void> {
    await this.#call({ op: 'unload', name });
  }

  async forecastJson(name: string, period: number): Promise<string> {
    return (await this.#call({ op: 'forecast', name, period })) as string;
  }

  async limitGarbage(allowanceBytes: number): Promise<void> {
    await this.#call({ op: 'limit-garbage', allowanceBytes });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await stopWorker(this.worker);
  }
}
