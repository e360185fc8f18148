import { parentPort, workerData } from 'node:worker_threads';
import { initProphet } from '../shared/prophet.js';
import { serveUntilStopped } from '../shared/worker-stop.js';
import type { TrainingSettings } from './hyperparameters.js';
import { trainCustomer } from './train-customer.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/** A training worker thread: fits the customers it is sent, one at a time, until it is replaced. */
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread of the training job');
const settings = workerData as TrainingSettings;

// Stan's WebAssembly is loaded by the first customer that needs it (train-customer.ts).
await initProphet();
port.postMessage({ type: 'ready' } satisfies WorkerReply);

serveUntilStopped(port, (request: WorkerRequest) => {
  const started = performance.now();
  trainCustomer(request.task, settings).then(
    ({ doc, stanFits }) =>
      port.postMessage({ type: 'trained', customerId: doc.customerId, metrics: doc.metrics, ms: performance.now() - started, stanFits } satisfies WorkerReply),
    (error: unknown) =>
      port.postMessage({
        type: 'failed',
        customerId: request.task.customerId,
        reason: error instanceof Error ? error.message : String(error),
        ms: performance.now() - started,
      } satisfies WorkerReply),
  );
});
