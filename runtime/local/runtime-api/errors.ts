import type { ServerResponse } from 'node:http';

/**
 * SageMaker Runtime errors as restJson1 carries them: `x-amzn-errortype` plus a JSON body with
 * `message`/`Message`, so the SDK raises ValidationError, ModelError, ModelNotReadyException, …
 */
export type RuntimeErrorType = 'ValidationError' | 'ModelError' | 'ModelNotReadyException' | 'InternalFailure';

const STATUS: Record<RuntimeErrorType, number> = {
  ValidationError: 400,
  ModelError: 424,
  ModelNotReadyException: 429,
  InternalFailure: 500,
};

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly type: RuntimeErrorType,
    message: string,
    readonly members: Record<string, unknown> = {},
    /** When AWS answers this type with another status (413 for an over-limit body). */
    readonly status?: number,
  ) {
    super(message);
  }

  get statusCode(): number {
    return this.status ?? STATUS[this.type];
  }
}

/**
 * The ModelError AWS returns when the container answers with an error status, with its wording
 * ("Received client error (400) from primary with message …").
 */
export function modelError(o: { status: number; body: string; region: string; accountId: string; endpoint: string }): RuntimeError {
  const side = o.status >= 500 ? 'server' : 'client';
  const logGroup = `/aws/sagemaker/Endpoints/${o.endpoint}`;
  return new RuntimeError(
    'ModelError',
    `Received ${side} error (${o.status}) from primary with message "${o.body}". See https://${o.region}.console.aws.amazon.com/cloudwatch/home?region=${o.region}#logEventViewer:group=${logGroup} in account ${o.accountId} for more information.`,
    {
      ErrorCode: o.status >= 500 ? 'INTERNAL_FAILURE_FROM_MODEL' : 'CLIENT_ERROR_FROM_MODEL',
      OriginalStatusCode: o.status,
      OriginalMessage: o.body,
      LogStreamArn: `arn:aws:logs:${o.region}:${o.accountId}:log-group:${logGroup}`,
    },
  );
}

export function sendRuntimeError(res: ServerResponse, error: RuntimeError, requestId: string): void {
  const body = JSON.stringify({ ...error.members, message: error.message, Message: error.message });
  res.writeHead(error.statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': error.type,
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}
