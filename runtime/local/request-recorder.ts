import type { IncomingMessage } from 'node:http';
import type { Operation } from './sagemaker/protocol.js';

/**
 * What the edge saw of one request, for callers that want to know which AWS requests a local run
 * makes (the IAM simulation replays them against the stack's planned role policies). Observed
 * only: a recorder never changes or delays the answer.
 */
export type EdgeRequest =
  | { readonly service: 's3'; readonly accessKeyId: string | undefined; readonly method: string; readonly url: string; readonly copySource: string | undefined }
  | { readonly service: 'sagemaker'; readonly accessKeyId: string | undefined; readonly operation: string; readonly input: Readonly<Record<string, unknown>> }
  | { readonly service: 'sagemaker-runtime'; readonly accessKeyId: string | undefined; readonly endpointName: string };

export type RequestRecorder = (request: EdgeRequest) => void;

/** The access key id of a SigV4-signed request (`Credential=<id>/<date>/…`): who is asking. */
export function accessKeyIdOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  const fromHeader = typeof authorization === 'string' ? /Credential=([^/,\s]+)\//.exec(authorization)?.[1] : undefined;
  if (fromHeader !== undefined) return fromHeader;
  const credential = new URL(req.url ?? '/', 'http://edge').searchParams.get('X-Amz-Credential');
  return credential?.split('/')[0];
}

export function s3Request(req: IncomingMessage): EdgeRequest {
  const copySource = req.headers['x-amz-copy-source'];
  return {
    service: 's3',
    accessKeyId: accessKeyIdOf(req),
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    copySource: typeof copySource === 'string' ? copySource : undefined,
  };
}

/** The operations table with this request's operation reporting its parsed input before it runs. */
export function recordedOperations(
  operations: ReadonlyMap<string, Operation>,
  operationName: string,
  req: IncomingMessage,
  record: RequestRecorder,
): ReadonlyMap<string, Operation> {
  const operation = operations.get(operationName);
  if (operation === undefined) return operations;
  const accessKeyId = accessKeyIdOf(req);
  return new Map([
    [
      operationName,
      (input: Record<string, unknown>) => {
        record({ service: 'sagemaker', accessKeyId, operation: operationName, input });
        return operation(input);
      },
    ],
  ]);
}
