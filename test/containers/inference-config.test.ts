import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseInferenceConfig } from '../../containers/inference/config.js';
import {
  containerMemoryLimit,
  garbageAllowanceBytes,
  headroomBytes,
  keepsLoad,
  loadAllowance,
  measuredModelBytes,
  mustCollectGarbage,
  nextForecastReserveBytes,
  REUSE_GROWTH_RESERVE_BYTES,
  roomLeftBytes,
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

const thread = (startMiB: number, nowMiB: number, modelEstimateMiB = 0) => ({
  start: { heapBytes: 0, wasmBytes: startMiB * MiB, forecastReserveBytes: 0 },
  now: { heapBytes: MiB / 2, wasmBytes: nowMiB * MiB - MiB / 2, forecastReserveBytes: 0 },
  modelEstimateBytes: modelEstimateMiB * MiB,
  garbageAllowanceBytes: MiB / 2,
});

test('measured model memory is what every model thread holds above its start', (t) => {
  const measured: MeasuredThreads = { threads: [thread(2, 5), thread(2, 3)] };
  t.is(measuredModelBytes(measured), 4 * MiB);
});

test('the room left for loads is the budget less the measured use, what every thread may still grow by itself and the loads under way', (t) => {
  t.is(roomLeftBytes({ budgetBytes: 16 * MiB, measuredBytes: 10 * MiB, reservedBytes: 2 * MiB, allowedToOthersBytes: MiB }), 3 * MiB);
  t.is(roomLeftBytes({ budgetBytes: 16 * MiB, measuredBytes: 15 * MiB, reservedBytes: 2 * MiB, allowedToOthersBytes: 0 }), -MiB);
});

test('a load runs only where its growth cannot pass the budget: room for its estimate and two pages, or room unloads freed', (t) => {
  const estimateBytes = 120 * 1024;
  const needs = estimateBytes + 2 * WASM_PAGE_BYTES;
  const reserve = 2 * REUSE_GROWTH_RESERVE_BYTES;
  const base = { estimateBytes, threads: 2, freedBytes: 0, loadsUnderWay: 0, reuseReserveBytes: reserve };
  const grow = (bytes: number) => ({ bytes, intoFreedRoom: false });
  // Plenty left and nothing else loading in its thread: room for free space ahead, a share of what is left.
  t.deepEqual(loadAllowance({ ...base, roomLeftBytes: 80 * MiB + reserve }), grow(20 * MiB));
  // Loads queued behind another in the same thread get their estimate and two pages, so a burst does not halve the room away.
  t.deepEqual(loadAllowance({ ...base, roomLeftBytes: 80 * MiB, loadsUnderWay: 3 }), grow(needs));
  // Little left beside the reserve for loads into freed room: the estimate and two pages.
  t.deepEqual(loadAllowance({ ...base, roomLeftBytes: reserve + needs }), grow(needs));
  // Less than that: refused before it runs, unless unloads freed room for it...
  t.is(loadAllowance({ ...base, roomLeftBytes: reserve + needs - 1 }), undefined);
  t.is(loadAllowance({ ...base, roomLeftBytes: reserve, freedBytes: estimateBytes - 1 }), undefined);
  // ...where it may grow into what is left of the reserve, at most four pages, and past it not at all.
  t.deepEqual(loadAllowance({ ...base, roomLeftBytes: reserve, freedBytes: estimateBytes }), { bytes: REUSE_GROWTH_RESERVE_BYTES, intoFreedRoom: true });
  t.deepEqual(loadAllowance({ ...base, roomLeftBytes: WASM_PAGE_BYTES, freedBytes: estimateBytes }), { bytes: WASM_PAGE_BYTES, intoFreedRoom: true });
  t.deepEqual(loadAllowance({ ...base, roomLeftBytes: -MiB, freedBytes: estimateBytes }), { bytes: 0, intoFreedRoom: true });
  t.true(keepsLoad(0, 0), 'a model that fits in memory the thread holds loads even with no growth allowed');
  t.false(keepsLoad(WASM_PAGE_BYTES, WASM_PAGE_BYTES - 1));
});

test('a heap is collected before it is measured once it grew past its garbage allowance since its last collection', (t) => {
  t.is(garbageAllowanceBytes(16 * MiB, 1), MiB);
  t.is(garbageAllowanceBytes(16 * MiB, 2), MiB / 2);
  t.is(garbageAllowanceBytes(MiB, 2), 256 * 1024, 'at least 256 KiB');
  t.false(mustCollectGarbage(10 * MiB, 9 * MiB, MiB));
  t.true(mustCollectGarbage(10 * MiB + 1, 9 * MiB, MiB));
});

test("a thread's forecast reserve is the most one of its forecasts grew its memory, and never shrinks", (t) => {
  t.is(nextForecastReserveBytes(0, 0), 0);
  t.is(nextForecastReserveBytes(0, 3 * WASM_PAGE_BYTES), 3 * WASM_PAGE_BYTES);
  t.is(nextForecastReserveBytes(3 * WASM_PAGE_BYTES, 0), 3 * WASM_PAGE_BYTES);
  t.is(nextForecastReserveBytes(3 * WASM_PAGE_BYTES, WASM_PAGE_BYTES), 3 * WASM_PAGE_BYTES);
  t.is(nextForecastReserveBytes(3 * WASM_PAGE_BYTES, 5 * WASM_PAGE_BYTES), 5 * WASM_PAGE_BYTES);
});

test('a thread is replaced only once the measured use passed the budget, and only one whose memory its models do not explain', (t) => {
  const budget = 16 * MiB;
  t.is(threadToRecycle({ threads: [thread(2, 10, 1), thread(2, 10, 1)] }, budget), -1, 'within the budget: nothing to give back');
  t.is(threadToRecycle({ threads: [thread(2, 9, 6), thread(2, 21, 6)] }, budget), 1, 'the thread holding the most its models do not explain');
  t.is(threadToRecycle({ threads: [thread(2, 9, 7), thread(2, 21, 18)] }, budget), -1, 'its models explain what it holds');
  t.is(threadToRecycle({ threads: [thread(2, 12, 1), thread(2, 12, 8)] }, budget), 0, 'past the budget, the thread with memory nothing explains');
});
