import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { removeModels, request, trainModels, type TrainedModels } from './inference-fixtures.js';

const CLI = fileURLToPath(new URL('../../containers/cli.ts', import.meta.url));

let models: TrainedModels;

test.before(async () => {
  models = await trainModels(2);
});

test.after.always(async () => {
  if (models) await removeModels(models);
});

interface Spawned {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
  events: { event: string }[];
}

/** `npm run container -- serve` as the image runs it, on a free loopback port. */
async function spawnServer(t: { teardown(fn: () => void): void }, args: string[] = []): Promise<Spawned> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, SAGEMAKER_BIND_TO_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const events: { event: string }[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { event: string; url?: string };
      events.push(event);
      if (event.event === 'listening') resolve(event.url!);
    });
    void exit.then((code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
  return { child, url, exit, events };
}

test('/ping answers once the server listens; a load sent then waits for the model threads and succeeds', async (t) => {
  const server = await spawnServer(t, ['--workers', '2']);
  const [ping, loaded, listed] = await Promise.all([
    request(server.url, 'GET', '/ping'),
    request(server.url, 'POST', '/models', JSON.stringify({ model_name: 'early', url: models.dirs.get('0') })),
    request(server.url, 'GET', '/models'),
  ]);
  t.is(ping.status, 200);
  t.is(loaded.status, 200);
  t.is(listed.status, 200);
  t.is((await request(server.url, 'POST', '/models/early/invoke', '{"period": 3}')).body.forecast.length, 3);
  // The log lines travel through a pipe, not with the answers: wait for the line that says the threads are up.
  for (let waited = 0; !server.events.some((e) => e.event === 'models-ready') && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  const order = server.events.map((e) => e.event);
  t.true(order.indexOf('listening') >= 0 && order.indexOf('listening') < order.indexOf('models-ready'), order.join(', '));
});

test('SIGTERM while the model threads start: a load already sent is answered, then the server drains and exits 0', async (t) => {
  const server = await spawnServer(t, ['--workers', '2']);
  const loaded = request(server.url, 'POST', '/models', JSON.stringify({ model_name: 'starting', url: models.dirs.get('0') }));
  // The load is on its way as the server is told to stop (the threads are most likely not up yet).
  await new Promise((resolve) => setTimeout(resolve, 20));
  server.child.kill('SIGTERM');
  t.is((await loaded).status, 200);
  t.is(await server.exit, 0);
  const events = server.events.map((e) => e.event);
  t.true(events.includes('draining'), events.join(', '));
  t.is(events.at(-1), 'stopped');
});

test('/ping answers within 2 s while hundreds of models load', async (t) => {
  const server = await spawnServer(t);
  const dirs = [...models.dirs.values()];
  const total = 300;
  let next = 0;
  let loading = true;
  // Sixteen loads in flight at a time, as a busy endpoint's agent might send them.
  const loaders = Promise.all(
    Array.from({ length: 16 }, async () => {
      const statuses: number[] = [];
      for (let i = next++; i < total; i = next++) {
        const answer = await request(server.url, 'POST', '/models', JSON.stringify({ model_name: `m${i}`, url: dirs[i % dirs.length] }));
        statuses.push(answer.status);
      }
      return statuses;
    }),
  ).finally(() => (loading = false));
  const pings: number[] = [];
  while (loading) {
    const started = performance.now();
    const ping = await request(server.url, 'GET', '/ping');
    t.is(ping.status, 200);
    pings.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const statuses = (await loaders).flat();
  t.deepEqual(statuses, Array(total).fill(200));
  t.log(`${pings.length} pings during the loads, slowest ${Math.max(...pings).toFixed(0)} ms`);
  t.true(pings.length >= 2, `only ${pings.length} pings went out while loading`);
  t.true(Math.max(...pings) < 2000, `slowest ping ${Math.max(...pings).toFixed(0)} ms`);
  t.is((await request(server.url, 'GET', '/models?limit=1000')).body.models.length, total);
});

test('SIGTERM lets in-flight invocations finish, then the server exits 0', async (t) => {
  // Many samples and a long period make each forecast slow enough to be in flight at SIGTERM.
  const server = await spawnServer(t, ['--workers', '1', '--uncertainty-samples', '1000']);
  const loaded = await request(server.url, 'POST', '/models', JSON.stringify({ model_name: 'slow', url: models.dirs.get('0') }));
  t.is(loaded.status, 200);
  const inFlight = Array.from({ length: 8 }, () => request(server.url, 'POST', '/models/slow/invoke', '{"period": 120}'));
  // One worker forecasts one at a time: when the first answer is back, the other seven were
  // received long ago and wait in its queue.
  await Promise.race(inFlight);
  server.child.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  t.deepEqual(answers.map((answer) => answer.status), Array(8).fill(200));
  t.true(answers.every((answer) => answer.body.forecast.length === 120));
  t.is(await server.exit, 0);
  t.deepEqual(server.events.map((e) => e.event).slice(-2), ['draining', 'stopped']);
  await t.throwsAsync(request(server.url, 'GET', '/ping'));
});
