import { parentPort, workerData } from 'node:worker_threads';
import { serveUntilStopped } from '../shared/worker-stop.js';
import { handleHostRequest, serializeError, type HostReady, type HostReply, type HostRequest } from './model-host.js';
import { ModelShard, type ReplayOptions } from './model-shard.js';

const port = parentPort;
if (!port) throw new Error('model-host-worker must run as a worker thread');

const shard = await ModelShard.create(workerData as ReplayOptions);
serveUntilStopped(port, (request: HostRequest) => {
  handleHostRequest(shard, request).then(
    (value) => port.postMessage({ id: request.id, memory: shard.memory(), ok: true, value } satisfies HostReply),
    (error: unknown) => port.postMessage({ id: request.id, memory: shard.memory(), ok: false, error: serializeError(error) } satisfies HostReply),
  );
});
port.postMessage({ ready: true, memory: shard.memory() } satisfies HostReady);
