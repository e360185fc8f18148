import { parentPort } from 'node:worker_threads';
import { serveUntilStopped } from '../../containers/shared/worker-stop.js';
import { checkModelBytes, type ModelCheck, type ModelCheckRequest } from './model-check.js';

/** The messages between validation and its model-check worker threads. */
export interface ModelCheckMessage {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly request: ModelCheckRequest;
}

export type ModelCheckReply = { readonly id: number; readonly check: ModelCheck } | { readonly id: number; readonly error: string };

const port = parentPort;
if (port) {
  serveUntilStopped(port, (message: ModelCheckMessage) => {
    checkModelBytes(message.bytes, message.request).then(
      (check) => port.postMessage({ id: message.id, check } satisfies ModelCheckReply),
      // checkModelBytes reports a bad model as a ModelCheck; what reaches here is a fault of the worker itself.
      (error: unknown) => port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies ModelCheckReply),
    );
  });
}
