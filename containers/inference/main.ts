import { parseInferenceConfig } from './config.js';
import { startInferenceServer, type LogEvent } from './server.js';

/** SageMaker sends SIGKILL 30 s after SIGTERM; stop waiting for stragglers a little before that. */
const DRAIN_DEADLINE_MS = 25_000;

/** One JSON line per event on stdout, where SageMaker ships container logs to CloudWatch. */
const logLine: LogEvent = (event, fields) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'inference', event, ...fields })}\n`);
};

/**
 * `serve`: runs the multi-model server until SIGTERM (or SIGINT), then drains in-flight requests
 * and resolves with the exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  const config = parseInferenceConfig(args, process.env);
  // Heard from the start: /ping answers while the model threads still start, so requests may be in
  // flight before the server is fully up, and a signal then must drain them too.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const server = await startInferenceServer(config, logLine);
  const stop = await Promise.race([signalled, server.failure]);
  if (stop instanceof Error) {
    logLine('failed', { message: stop.message, models: server.registry.size });
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    return 1;
  }
  const signal = stop;
  logLine('draining', { signal, models: server.registry.size });
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, DRAIN_DEADLINE_MS, 'timeout').unref());
  const outcome = await Promise.race([server.close().then(() => 'drained' as const), deadline]);
  logLine('stopped', { outcome });
  return outcome === 'drained' ? 0 : 1;
}
