import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SageMakerError } from './errors.js';
import { answerWithoutBody, readBodyWithin } from '../../../containers/shared/http-body.js';

export type Operation = (input: Record<string, unknown>) => Promise<object> | object;

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** Whether a request is for the SageMaker API: awsJson1_1 with `X-Amz-Target: SageMaker.<Operation>`. */
export function sageMakerOperationName(req: IncomingMessage): string | undefined {
  const target = req.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith('SageMaker.') ? target.slice('SageMaker.'.length) : undefined;
}

/** Reads the JSON body, runs the operation and writes its result or its error as awsJson1_1 does. */
export async function handleSageMakerRequest(req: IncomingMessage, res: ServerResponse, operationName: string, operations: ReadonlyMap<string, Operation>): Promise<void> {
  const requestId = randomUUID();
  try {
    const operation = operations.get(operationName);
    const body = await readBodyWithin(req, MAX_REQUEST_BYTES);
    if (body === undefined) {
      const message = `The request body is larger than the ${MAX_REQUEST_BYTES} bytes local mode's SageMaker API accepts.`;
      await answerWithoutBody(req, res, () => send(res, 413, { __type: 'ValidationException', message }, requestId, 'ValidationException'));
      return;
    }
    const text = body.toString('utf8');
    if (!operation) throw new SageMakerError('UnknownOperationException', `Operation ${operationName} is not supported by local mode's SageMaker.`);
    let input: unknown;
    try {
      input = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new SageMakerError('SerializationException', 'The request body is not valid JSON.');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SageMakerError('SerializationException', 'The request body must be a JSON object.');
    const output = await operation(input as Record<string, unknown>);
    send(res, 200, output, requestId);
  } catch (error) {
    const failure = error instanceof SageMakerError ? error : new SageMakerError('InternalFailure', (error as Error).message);
    send(res, failure.statusCode, { __type: failure.type, message: failure.message }, requestId, failure.type);
  }
}

function send(res: ServerResponse, status: number, body: object, requestId: string, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}
