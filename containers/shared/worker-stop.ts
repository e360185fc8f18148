import type { MessagePort, Worker } from 'node:worker_threads';

/**
 * Ending a worker thread without `terminate()`. Node's `terminate()` tears the thread's isolate
 * down while V8 may still be compiling its hot code on a background thread; when that compile then
 * asks for the isolate's task runner, Node aborts the whole process ("NodePlatform::ForIsolate …
 * Assertion failed: (data.first) != nullptr", SIGABRT). On Node 20.20 one run in 40–60 of the
 * training container on 10 customers died so. A thread whose event loop ends on its own waits for
 * its background work first, so threads are asked to end and are terminated only when they don't.
 */

const STOP_REQUEST = { stopWorkerThread: true } as const;

/** How long a thread may take to finish what it is doing and end before it is terminated. */
export const STOP_GRACE_MS = 10_000;

function isStopRequest(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { stopWorkerThread?: unknown }).stopWorkerThread === true;
}

/**
 * Worker side: passes every message but the stop request to `handle`. The stop request closes the
 * port, so the thread ends once the work already started is done.
 */
export function serveUntilStopped<T>(port: MessagePort, handle: (message: T) => void): void {
  port.on('message', (message: T) => {
    if (isStopRequest(message)) port.close();
    else handle(message);
  });
}

/**
 * Parent side: asks a thread served by {@link serveUntilStopped} to end and resolves with its exit
 * code once it has; a thread still running after `graceMs` (stuck in a computation) is terminated.
 */
export function stopWorker(worker: Worker, graceMs = STOP_GRACE_MS): Promise<number> {
  // Already gone (or going): terminate() only waits for its exit.
  if (worker.threadId === -1) return worker.terminate().then((code) => code ?? 0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), graceMs);
    worker.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    worker.postMessage(STOP_REQUEST);
  });
}
