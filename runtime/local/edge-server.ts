import http from 'node:http';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { accessKeyIdOf, recordedOperations, s3Request, type RequestRecorder } from './request-recorder.js';
import { handleInvokeEndpoint, invocationEndpointName } from './runtime-api/invoke-endpoint.js';
import { createS3Service } from './s3/s3-service.js';
import type { S3FaultSwitch } from './s3/fault-switch.js';
import { InternalS3 } from './s3/internal-client.js';
import { answerRefusal, requestRefusal } from './request-guard.js';
import { answerWithoutBody, REQUEST_TIMEOUT_MS } from '../../containers/shared/http-body.js';
import { handleSageMakerRequest, sageMakerOperationName } from './sagemaker/protocol.js';
import { createSageMakerService } from './sagemaker/service.js';

export interface LocalAwsOptions {
  /** Everything local mode stores: `s3/`, `sagemaker/` (API state), `jobs/`, `endpoints/`. */
  dataDir: string;
  /** Default 4566 (LocalStack's); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default 000000000000 (LocalStack's). */
  accountId?: string;
  /** Unpacked model bytes an endpoint keeps loaded before unloading least-recently-used models; default unlimited (the container's 507 still evicts). */
  modelMemoryBudgetBytes?: number;
  /** Longer than this, InvokeEndpoint answers ModelNotReadyException while the model keeps loading; default 60 000 (AWS). */
  modelLoadWaitMs?: number;
  /** Between SIGTERM and SIGKILL when a job or container is stopped; default 120 000 (AWS, training). */
  stopGraceMs?: number;
  /** How often checkpoint folders are scanned for new files; default 500. */
  checkpointIntervalMs?: number;
  /** Most instances one job may ask for (beyond: ResourceLimitExceeded); default 16. */
  maxInstancesPerJob?: number;
  /** Browser origins let through (`http://localhost:3000`); default none: any request with an `Origin` is refused. */
  allowedOrigins?: readonly string[];
  /** A client must send a whole request within this, or gets 408 and a closed connection; default 120 000. */
  requestTimeoutMs?: number;
  /** Tests only: answer a share of client S3 requests with 500/503 (`s3Faults.injected` counts them). */
  s3Faults?: S3FaultSwitch;
  /** Progress and container output, one line at a time; default none. */
  log?: (line: string) => void;
  /** Told of every S3, SageMaker and SageMaker Runtime request before it is served (observe only); default none. */
  onRequest?: RequestRecorder;
}

export interface LocalAws {
  /** What `AWS_ENDPOINT_URL` should be set to. */
  endpointUrl: string;
  port: number;
  /** Stops jobs (recorded as failed) and endpoint containers, then the server. */
  close(): Promise<void>;
}

/**
 * Local mode's AWS edge: S3, the SageMaker API and SageMaker Runtime on one port, dispatched as
 * the real services are addressed: `X-Amz-Target: SageMaker.*` → SageMaker,
 * `POST /endpoints/<name>/invocations` → SageMaker Runtime, anything else → S3.
 */
export async function startLocalAws(options: LocalAwsOptions): Promise<LocalAws> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const log = options.log ?? (() => {});
  const dataDir = path.resolve(options.dataDir);
  await fs.mkdir(dataDir, { recursive: true });

  const s3 = await createS3Service(dataDir, log, options.s3Faults);
  let sagemaker: Awaited<ReturnType<typeof createSageMakerService>> | undefined;
  const guard = { allowedOrigins: options.allowedOrigins ?? [] };
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const server = http.createServer({ keepAlive: true, requestTimeout, connectionsCheckingInterval: Math.min(30_000, Math.max(100, requestTimeout / 4)) }, (req, res) => {
    const record = options.onRequest;
    const operation = sageMakerOperationName(req);
    const refusal = requestRefusal(req.headers, guard);
    if (refusal) {
      const json = operation !== undefined || invocationEndpointName(req.method, req.url) !== undefined;
      void answerWithoutBody(req, res, () => answerRefusal(res, refusal, json ? 'json' : 'xml'));
      return;
    }
    if (operation !== undefined) {
      if (!sagemaker) return unavailable(res);
      const operations = record === undefined ? sagemaker.operations : recordedOperations(sagemaker.operations, operation, req, record);
      void handleSageMakerRequest(req, res, operation, operations);
      return;
    }
    const endpointName = invocationEndpointName(req.method, req.url);
    if (endpointName !== undefined) {
      if (!sagemaker) return unavailable(res);
      record?.({ service: 'sagemaker-runtime', accessKeyId: accessKeyIdOf(req), endpointName });
      const endpoints = sagemaker.endpoints;
      void handleInvokeEndpoint(req, res, { endpointName, endpoint: (name) => endpoints.runtime(name), region, accountId });
      return;
    }
    record?.(s3Request(req));
    s3.handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port ?? 4566, host, resolve));
  const { port } = server.address() as AddressInfo;
  const endpointUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const internalS3 = new InternalS3(s3.objects, options.onRequest);
  const stopGraceMs = options.stopGraceMs ?? 120_000;
  try {
    sagemaker = await createSageMakerService({
      dataDir,
      s3: internalS3,
      job: { region, accountId, log, stopGraceMs, checkpointIntervalMs: options.checkpointIntervalMs ?? 500 },
      runtime: {
        region,
        accountId,
        modelMemoryBudgetBytes: options.modelMemoryBudgetBytes ?? Number.POSITIVE_INFINITY,
        modelLoadWaitMs: options.modelLoadWaitMs ?? 60_000,
        invocationTimeoutMs: 60_000,
        containerStartupTimeoutMs: 240_000,
        stopGraceMs: Math.min(stopGraceMs, 30_000),
        log,
      },
      maxInstancesPerJob: options.maxInstancesPerJob ?? 16,
    });
    await sagemaker.endpoints.restore();
  } catch (error) {
    await new Promise((resolve) => server.close(resolve));
    throw error;
  }
  log(`local AWS (S3, SageMaker, SageMaker Runtime) listening on ${endpointUrl}, data in ${dataDir}`);

  let closing: Promise<void> | undefined;
  return {
    endpointUrl,
    port,
    close() {
      closing ??= (async () => {
        await sagemaker?.shutdown();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function unavailable(res: http.ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceUnavailable' });
  res.end(JSON.stringify({ message: 'local mode is starting' }));
}
