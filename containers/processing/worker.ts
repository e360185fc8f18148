import { parentPort } from 'node:worker_threads';
import { serveUntilStopped } from '../shared/worker-stop.js';
import { readRawFiles } from './read-phase.js';
import type { ReadResult, ReadTask } from './read-phase.js';
import { writeCustomerFiles } from './write-phase.js';
import type { WriteResult, WriteTask } from './write-phase.js';

/** The messages between the processing job and its worker threads. */
export type WorkerRequest = { kind: 'read'; task: ReadTask } | { kind: 'write'; task: WriteTask };

export type WorkerReply =
  | { kind: 'progress'; count: number }
  | { kind: 'done'; result: ReadResult | WriteResult }
  // Errors lose their class and fields through postMessage: send the message explicitly.
  | { kind: 'failed'; message: string };

const port = parentPort;
if (port) {
  const progress = (count: number) => port.postMessage({ kind: 'progress', count } satisfies WorkerReply);
  serveUntilStopped(port, (request: WorkerRequest) => {
    const work = request.kind === 'read' ? readRawFiles(request.task, progress) : writeCustomerFiles(request.task, progress);
    work.then(
      (result) => port.postMessage({ kind: 'done', result } satisfies WorkerReply),
      (error: unknown) => port.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies WorkerReply),
    );
  });
}
