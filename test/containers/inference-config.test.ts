import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseInferenceConfig } from '../../containers/inference/config.js';
import { containerMemoryLimit, headroomBytes, MemoryBudget } from '../../containers/inference/memory-budget.js';

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

test('the memory budget refuses a reservation that would pass it and frees on release', (t) => {
  t.is(headroomBytes(1024 * MiB), 256 * MiB);
  t.is(headroomBytes(16 * 1024 * MiB), Math.round(1.6 * 1024 * MiB));
  const budget = new MemoryBudget(300);
  t.true(budget.tryReserve(200));
  t.false(budget.tryReserve(101));
  t.is(budget.reservedBytes, 200);
  budget.release(200);
  t.true(budget.tryReserve(300));
  t.throws(() => new MemoryBudget(Number.NaN), { instanceOf: RangeError });
});
