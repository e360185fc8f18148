import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits beside `moduleUrl` (the caller's `import.meta.url`),
 * with the caller's own extension: the `.js` when compiled; the `.ts` when run from source
 * (`npm run container`, tests), where the worker must register tsx itself because tsx's loader
 * flags do not carry over to worker threads on Node 20.
 */
export function startWorkerBeside(moduleUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSource = moduleUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, moduleUrl);
  if (!fromSource) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
