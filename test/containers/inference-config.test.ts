import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseInferenceConfig } from '../../containers/inference/config.js';
import {
  containerMemoryLimit,
  growthAllowance,
  recycleMarginBytes,
  headroomBytes,
  keepsLoad,
  mayReuseHeldMemory,
  measuredModelBytes,
  threadToRecycle,
  WASM_PAGE_BYTES,
  type MeasuredThreads,
} from '../../containers/inference/memory-budget.js';

const MiB = 1024 * 1024;

test('the port is 8080 unless SAGEMAKER_BIND_TO_PORT or --port says otherwise', (t) => {
  t.is(parseInferenceConfig([], {}).port, 8080);
  t.is(parseInferenceConfig([], { SAGEMAKER_BIND_TO_PORT: '9090' }).port, 9090);
  t.is(parseInferenceConfig(['--port', '0'], { SAGEMAKER_BIND_TO_PORT: '9090' }).port, 0);
  t.is(parseInferenceConfig([], {}).host, '0.0.0.0');
});

test('settings come from flags first, then environment variables', (t) => {
  const config = parseInferenceConfig(['--workers', '3'], {
    INFERENCE_WORKERS: '1',
    INFERENCE_UNCERTAINTY_SAMPLES: '500',
    INFERENCE_MEMORY_BUDGET_MB: '1.5',
    INFERENCE_HOST: '127.0.0.1',
  });
  t.deepEqual(config, { host: '127.0.0.1', port: 8080, workers: 3, uncertaintySamples: 500, modelMemoryBytes: Math.round(1.5 * MiB) });
  t.is(parseInferenceConfig([], {}).uncertaintySamples, undefined);
  t.is(parseInferenceConfig([], {}).modelMemoryBytes, undefined);
});

test('a bad setting is refused with its name and what is allowed', (t) => {
  t.throws(() => parseInferenceConfig([], { SAGEMAKER_BIND_TO_PORT: '80a' }), { message: /\[SAGEMAKER_BIND_TO_PORT\] must be an integer from 0 to 65535; received "80a"/ });
  t.throws(() => parseInferenceConfig(['--workers=-1'], {}), { message: /\[--workers\]/ });
  t.throws(() => parseInferenceConfig([], { INFERENCE_MEMORY_BUDGET_MB: 'lots' }), { message: /\[INFERENCE_MEMORY_BUDGET_MB\] must be a number of MiB/ });
  t.throws(() => parseInferenceConfig(['--bogus'], {}), { message: /bogus/ });
});

test('the container memory limit comes from the cgroup when it sets one', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inference-cgroup-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const v2 = path.join(dir, 'memory.max');
  const v1 = path.join(dir, 'memory.limit_in_bytes');
  const missing = path.join(dir, 'absent');
  await writeFile(v2, '2147483648\n');
  t.is(await containerMemoryLimit([v2, v1]), Math.min(2147483648, os.totalmem()));
  await writeFile(v2, 'max\n');
  await writeFile(v1, '9223372036854771712\n');
  t.is(await containerMemoryLimit([v2, v1]), os.totalmem(), 'no limit: the machine memory');
  await writeFile(v1, `${512 * MiB}\n`);
  t.is(await containerMemoryLimit([missing, v2, v1]), 512 * MiB);
  t.is(await containerMemoryLimit([missing]), os.totalmem());
});

test('headroom is a tenth of the container memory, at least 256 MiB', (t) => {
  t.is(headroomBytes(1024 * MiB), 256 * MiB);
  t.is(headroomBytes(16 * 1024 * MiB), Math.round(1.6 * 1024 * MiB));
});

const thread = (startMiB: number, nowMiB: number, settledMiB = startMiB) => ({
  start: { heapBytes: 0, wasmBytes: startMiB * MiB },
  now: { heapBytes: MiB / 2, wasmBytes: nowMiB * MiB - MiB / 2 },
  settled: { heapBytes: 0, wasmBytes: settledMiB * MiB },
});

test('measured model memory is what every model thread holds above its start', (t) => {
  const measured: MeasuredThreads = { threads: [thread(2, 5), thread(2, 3)] };
  t.is(measuredModelBytes(measured), 4 * MiB);
});

test('a load may grow memory only within what the budget has left, and always loads into memory already held', (t) => {
  const estimateBytes = 120 * 1024;
  // Plenty left: room for free space ahead, a share of what is left.
  t.is(growthAllowance({ budgetBytes: 100 * MiB, measuredBytes: 20 * MiB, allowedToOthersBytes: 0, estimateBytes, threads: 2 }), 20 * MiB);
  // Little left: the estimate and a page.
  t.is(growthAllowance({ budgetBytes: 100 * MiB, measuredBytes: 99.5 * MiB, allowedToOthersBytes: 0, estimateBytes, threads: 2 }), estimateBytes + WASM_PAGE_BYTES);
  // Other loads under way took what was left; the measured use past the budget leaves nothing.
  t.is(growthAllowance({ budgetBytes: 100 * MiB, measuredBytes: 100 * MiB - 100 * 1024, allowedToOthersBytes: 50 * 1024, estimateBytes, threads: 2 }), 50 * 1024);
  t.is(growthAllowance({ budgetBytes: 100 * MiB, measuredBytes: 120 * MiB, allowedToOthersBytes: 0, estimateBytes, threads: 2 }), 0);
  t.true(keepsLoad(0, 0), 'a model that fits in memory the thread holds loads even with nothing left');
  t.false(keepsLoad(WASM_PAGE_BYTES, WASM_PAGE_BYTES - 1));
});

test('past the budget, a load reuses memory its thread holds only where unloads freed room for it', (t) => {
  const estimateBytes = 120 * 1024;
  t.true(mayReuseHeldMemory({ measuredBytes: 3 * MiB, budgetBytes: 4 * MiB, freedBytes: 0, estimateBytes }), 'under the budget');
  t.false(mayReuseHeldMemory({ measuredBytes: 5 * MiB, budgetBytes: 4 * MiB, freedBytes: 0, estimateBytes }), 'past it, in what a refused load grew');
  t.true(mayReuseHeldMemory({ measuredBytes: 5 * MiB, budgetBytes: 4 * MiB, freedBytes: estimateBytes, estimateBytes }), 'past it, in what an unload freed');
});

test('a thread is replaced only when the measured use passed the budget by its margin and it grew past its share since it settled', (t) => {
  const budget = 16 * MiB;
  t.is(recycleMarginBytes(budget), 6 * MiB);
  t.is(threadToRecycle({ threads: [thread(2, 10), thread(2, 10)]}, budget), -1, 'at the budget: nothing to give back');
  t.is(threadToRecycle({ threads: [thread(2, 9), thread(2, 21)]}, budget), 1, 'the thread holding the most past its share');
  t.is(threadToRecycle({ threads: [thread(2, 9), thread(2, 21, 20)]}, budget), -1, 'its models alone took that memory when it settled');
});
