import type { AddressInfo } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { InferenceError, isInferenceError, type ErrorBody } from './errors.js';
import { discardBody, REQUEST_TIMEOUT_MS } from '../shared/http-body.js';
import { containerMemoryLimit, headroomBytes, measuredHeapBytes } from './memory-budget.js';
import { InProcessModelHost, WorkerModelHost, type ModelHost } from './model-host.js';
import { MAX_BODY_BYTES, MAX_PERIOD_DAYS, parseInvokeBody, parseListQuery, parseLoadBody } from './payload.js';
import { ModelRegistry } from './registry.js';
import type { InferenceConfig } from './config.js';

export type LogEvent = (event: string, fields: Record<string, unknown>) => void;

export interface InferenceServer {
  /** `http://host:port` as bound (the real port when the config asked for port 0). */
  readonly url: string;
  readonly registry: ModelRegistry;
  /**
   * Settles if a model thread dies. Its models died with it and the registry cannot tell which
   * requests they would have served, so the process should exit and be replaced (crash-only).
   */
  readonly failure: Promise<Error>;
  /** Stops accepting connections, lets in-flight requests finish, then frees every model. */
  close(): Promise<void>;
}

const TARGET_MODEL_HEADER = 'x-amzn-sagemaker-target-model';

/**
 * Starts the multi-model server. The model threads start first and load Prophet while this thread
 * loads the HTTP framework and starts listening; `/ping` answers 200 from then on, as SageMaker's
 * own multi-model server does while its workers start, and every request that needs the models
 * waits for their threads. Resolves once the threads are up, with the memory budget decided.
 */
export async function startInferenceServer(config: InferenceConfig, log: LogEvent = () => {}): Promise<InferenceServer> {
  const started = performance.now();
  let reportFailure: (error: Error) => void = () => {};
  const failure = new Promise<Error>((resolve) => (reportFailure = resolve));
  const registryReady = startRegistry(config, log, reportFailure);
  // Settled through `await registryReady` below; this only keeps an early rejection from counting as unhandled while the listener starts.
  registryReady.catch(() => undefined);
  const { default: Fastify } = await import('fastify');
  const app = buildApp(Fastify, registryReady, log);
  let url: string;
  let registry: ModelRegistry;
  try {
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address() as AddressInfo;
    url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    log('listening', { url, workers: config.workers, uncertaintySamples: config.uncertaintySamples ?? 'per model' });
    registry = await registryReady;
  } catch (error) {
    await app.close();
    await registryReady.then((r) => r.close(), () => undefined);
    throw error;
  }
  log('models-ready', { threads: config.workers === 0 ? 'http thread' : config.workers, budgetBytes: registry.budgetBytes, ms: Math.round(performance.now() - started) });
  return {
    url,
    registry,
    failure,
    async close() {
      await app.close();
      await registry.close();
    },
  };
}

/** The model threads (or the HTTP thread's own host) and, once they hold Prophet, the memory budget over them. */
async function startRegistry(config: InferenceConfig, log: LogEvent, reportFailure: (error: Error) => void): Promise<ModelRegistry> {
  const replay = { uncertaintySamples: config.uncertaintySamples };
  // Models live in worker threads so that loads and forecasts never hold up the HTTP thread, /ping
  // included; 0 workers keeps them on the HTTP thread (cheaper per request, but a burst of loads
  // then delays /ping).
  const startWorker = () => WorkerModelHost.create(replay, (error) => reportFailure(error));
  const hosts: ModelHost[] =
    config.workers === 0 ? [await InProcessModelHost.create(replay)] : await Promise.all(Array.from({ length: config.workers }, startWorker));
  // Measured once the threads hold Prophet, so what they hold before any model is outside the budget.
  const budgetBytes = config.modelMemoryBytes ?? (await defaultModelMemory());
  // Worker threads can be replaced to give back WebAssembly memory; the HTTP thread's cannot.
  return new ModelRegistry(
    hosts,
    config.workers === 0 ? { budgetBytes, log } : { budgetBytes, log, mainHeapBytes: measuredHeapBytes, startHost: startWorker },
  );
}

/** The container's memory less headroom, less what this process already holds before any model. */
async function defaultModelMemory(): Promise<number> {
  const limit = await containerMemoryLimit();
  return Math.max(0, limit - headroomBytes(limit) - process.memoryUsage.rss());
}

function buildApp(Fastify: typeof import('fastify').default, registryReady: Promise<ModelRegistry>, log: LogEvent): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { maxParamLength: 1024 },
    return503OnClosing: false,
    // No route declares a schema (bodies go through payload.ts, answers are built here): without
    // these factories fastify loads Ajv and fast-json-stringify's compiler at every start (≈ 0.15 s of CPU).
    schemaController: { compilersFactory: { buildValidator: schemasNotUsed, buildSerializer: schemasNotUsed } },
  });

  // Bodies arrive as text whatever their content type (the AWS SDK sends application/octet-stream
  // when none is set); the route's own parser then names what is wrong with them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  // While draining, every answer closes its connection: a keep-alive connection that was busy when
  // close() began would otherwise stay open, and the drain would wait for the client to hang up.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    done(draining ? new InferenceError('E_SHUTTING_DOWN', 'The server is shutting down; send the request again to another instance.') : undefined);
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const body = toErrorBody(error);
    if (body.statusCode >= 500) log('error', { code: body.code, message: body.message });
    if (body.statusCode === 413) {
      // Read and drop the rest first: answering mid-upload resets the connection (the client sees EPIPE, not the 413).
      const ended = await discardBody(request.raw);
      void reply.header('connection', 'close');
      if (!ended) reply.raw.once('finish', () => request.raw.socket.destroy());
    }
    return reply.code(body.statusCode).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new InferenceError('E_ROUTE_NOT_FOUND', `No route ${request.method} ${request.url}; see the multi-model contract's routes.`);
    void reply.code(404).send(error.toBody());
  });

  app.get('/ping', async (_request, reply) => reply.code(200).send(''));

  app.post('/models', async (request, reply) => {
    const { modelName, url } = parseLoadBody(request.body as string | undefined);
    const registry = await registryReady;
    const started = performance.now();
    try {
      const entry = await registry.load(modelName, url);
      log('model-loaded', {
        modelName,
        targetModel: request.headers[TARGET_MODEL_HEADER],
        customerId: entry.customerId,
        runId: entry.runId,
        ms: Math.round(performance.now() - started),
        ...memoryFields(registry),
      });
      return reply.code(200).send({ modelName, modelUrl: url, customerId: entry.customerId, runId: entry.runId });
    } catch (error) {
      if (isInferenceError(error)) log('model-load-failed', { modelName, url, code: error.code, reason: error.reason, message: error.message, ...memoryFields(registry) });
      throw error;
    }
  });

  app.get('/models', async (request) => (await registryReady).list(parseListQuery(request.query as Record<string, unknown>)));

  app.get<{ Params: { name: string } }>('/models/:name', async (request) => {
    const entry = (await registryReady).get(request.params.name);
    return { modelName: entry.modelName, modelUrl: entry.modelUrl, customerId: entry.customerId, runId: entry.runId };
  });

  app.delete<{ Params: { name: string } }>('/models/:name', async (request) => {
    const registry = await registryReady;
    await registry.unload(request.params.name);
    log('model-unloaded', { modelName: request.params.name, ...memoryFields(registry) });
    return { modelName: request.params.name, status: 'unloaded' };
  });

  app.post<{ Params: { name: string } }>('/models/:name/invoke', async (request, reply) => {
    const registry = await registryReady;
    const entry = registry.get(request.params.name);
    const { period } = parseInvokeBody(request.body as string | undefined, MAX_PERIOD_DAYS);
    const forecast = await registry.forecastJson(entry, period);
    const target = request.headers[TARGET_MODEL_HEADER];
    const model = typeof target === 'string' && target !== '' ? target : entry.modelName;
    return reply
      .type('application/json')
      .send(`{${entry.identityJson},"model":${JSON.stringify(model)},"period":${period},"forecast":${forecast}}`);
  });

  return app;
}

function schemasNotUsed(): never {
  throw new Error('the inference server declares no route schemas; parse and build bodies in payload.ts');
}

/** The measured model memory (and its heap and WebAssembly parts) beside the budget, on every load and unload log line. */
function memoryFields(registry: ModelRegistry): { modelMemoryBytes: number; heapBytes: number; wasmBytes: number; mainHeapBytes: number; budgetBytes: number } {
  const { measuredBytes, heapBytes, wasmBytes, mainHeapBytes, budgetBytes } = registry.memory();
  return { modelMemoryBytes: measuredBytes, heapBytes, wasmBytes, mainHeapBytes, budgetBytes };
}

function toErrorBody(error: FastifyError): ErrorBody {
  if (isInferenceError(error)) return error.toBody();
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new InferenceError('E_BODY_TOO_LARGE', `The request body is larger than the ${MAX_BODY_BYTES} bytes accepted.`).toBody();
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { statusCode: status, code: error.code ?? 'E_BAD_REQUEST', message: error.message };
  return new InferenceError('E_INTERNAL', `Internal error: ${error.message}`).toBody();
}
