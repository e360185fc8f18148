import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RuntimeError, sendRuntimeError } from './errors.js';
import { answerWithoutBody, readBodyWithin } from '../../../containers/shared/http-body.js';
import type { EndpointRuntime } from './endpoint-runtime.js';
import { MAX_INVOKE_BODY_BYTES, TARGET_MODEL_MAX_LENGTH, TARGET_MODEL_PATTERN } from '../../config/sagemaker-limits.js';

/** `POST /endpoints/<name>/invocations` → the endpoint name; undefined for any other request. */
export function invocationEndpointName(method: string | undefined, url: string | undefined): string | undefined {
  if (method !== 'POST' || !url) return undefined;
  const match = /^\/endpoints\/([^/?]+)\/invocations(?:\?.*)?$/.exec(url);
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
}

/**
 * SageMaker Runtime's InvokeEndpoint for a multi-model endpoint: validates the call as AWS does,
 * then answers with the container's body and `Content-Type`.
 */
export async function handleInvokeEndpoint(
  req: IncomingMessage,
  res: ServerResponse,
  o: { endpointName: string; endpoint: (name: string) => EndpointRuntime | undefined; region: string; accountId: string },
): Promise<void> {
  const requestId = randomUUID();
  try {
    const body = await readBodyWithin(req, MAX_INVOKE_BODY_BYTES);
    if (body === undefined) {
      const tooLarge = new RuntimeError(
        'ValidationError',
        `1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INVOKE_BODY_BYTES}`,
        {},
        413,
      );
      await answerWithoutBody(req, res, () => sendRuntimeError(res, tooLarge, requestId));
      return;
    }
    const endpoint = o.endpoint(o.endpointName);
    if (!endpoint) throw new RuntimeError('ValidationError', `Endpoint ${o.endpointName} of account ${o.accountId} not found.`);
    const targetModel = req.headers['x-amzn-sagemaker-target-model'];
    if (typeof targetModel !== 'string' || targetModel === '') {
      throw new RuntimeError('ValidationError', `Endpoint ${o.endpointName} is a multi-model endpoint: the request needs a TargetModel (X-Amzn-SageMaker-Target-Model header).`);
    }
    if (targetModel.length > TARGET_MODEL_MAX_LENGTH || !TARGET_MODEL_PATTERN.test(targetModel)) {
      throw new RuntimeError('ValidationError', `1 validation error detected: Value '${targetModel.slice(0, 100)}' at 'targetModel' failed to satisfy constraint: Member must have length less than or equal to 1024 and satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z`);
    }
    const response = await endpoint.invoke({ targetModel, body, headers: req.headers });
    const headers: Record<string, string | number> = {
      'content-type': String(response.headers['content-type'] ?? 'application/json'),
      'content-length': response.body.length,
      'x-amzn-invoked-production-variant': endpoint.variantName,
      'x-amzn-requestid': requestId,
    };
    const attributes = response.headers['x-amzn-sagemaker-custom-attributes'];
    if (typeof attributes === 'string') headers['x-amzn-sagemaker-custom-attributes'] = attributes;
    res.writeHead(200, headers);
    res.end(response.body);
  } catch (error) {
    const failure = error instanceof RuntimeError ? error : new RuntimeError('InternalFailure', `InternalFailure: ${(error as Error).message}`);
    if (!res.headersSent) sendRuntimeError(res, failure, requestId);
    else res.destroy();
  }
}
