import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { startWorkerBeside } from '../../containers/shared/start-worker.js';
import { stopWorker } from '../../containers/shared/worker-stop.js';

/**
 * Every worker thread of the project ends on its own when asked (exit code 0), instead of being
 * terminated (exit code 1): terminate() while V8 compiled the thread's code in the background
 * aborted the training container with SIGABRT in about one run in 50.
 */

const GRACE_MS = 5_000;
const here = (folder: string) => new URL(`../../${folder}/any.ts`, import.meta.url).href;

const WORKERS = [
  { name: 'training worker', start: () => startWorkerBeside(here('containers/training'), 'worker', { workerData: parseHyperparameters({}, {}) }), ready: true },
  { name: 'processing worker', start: () => startWorkerBeside(here('containers/processing'), 'worker'), ready: false },
  { name: 'model host worker', start: () => startWorkerBeside(here('containers/inference'), 'model-host-worker', { workerData: { uncertaintySamples: 10 } }), ready: true },
  { name: 'model-check worker', start: () => startWorkerBeside(here('runtime/pipeline'), 'model-check-worker'), ready: false },
];

for (const { name, start, ready } of WORKERS) {
  test(`the ${name} ends on its own when asked to stop`, async (t) => {
    const worker = start();
    // Until the thread has loaded, a stop request would only be queued; wait as its owner does.
    if (ready) await once(worker, 'message');
    else await once(worker, 'online');
    const started = performance.now();
    t.is(await stopWorker(worker, GRACE_MS), 0, 'exit code 0: the thread returned from its event loop, it was not terminated');
    t.true(performance.now() - started < GRACE_MS);
  });
}

test('a thread that does not end within the grace is terminated', async (t) => {
  const worker = new Worker(`require('node:worker_threads').parentPort.on('message', () => { for (;;) {} });`, { eval: true });
  await once(worker, 'online');
  worker.postMessage('spin');
  const started = performance.now();
  t.is(await stopWorker(worker, 200), 1);
  t.true(performance.now() - started >= 200);
});

test('stopping a thread that has already ended resolves at once', async (t) => {
  const worker = new Worker('', { eval: true });
  await once(worker, 'exit');
  t.is(await stopWorker(worker, GRACE_MS), 0);
});
