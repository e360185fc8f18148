import test from 'ava';
import type { ModelHost } from '../../containers/inference/model-host.js';
import { WorkerModelHost } from '../../containers/inference/model-host.js';
import type { LoadOutcome } from '../../containers/inference/model-shard.js';
import { ModelRegistry } from '../../containers/inference/registry.js';
import { removeModels, trainModels, type TrainedModels } from './inference-fixtures.js';

const MiB = 1024 * 1024;
// 2000 samples: one 366-day forecast grows its thread's WebAssembly memory by about 12 MB, far past a 4 MiB budget,
// so the registry replaces the thread.
const REPLAY = { uncertaintySamples: 2000 };
let models: TrainedModels;

test.before(async () => {
  models = await trainModels(2, 'run-recycle');
});
test.after.always(async () => {
  if (models) await removeModels(models);
});

/** A point where a thread's answer to one request is held back until the test lets it through. */
interface Hold {
  /** Resolves once the request was sent to the thread (its effect is under way there, in order with the others). */
  reached: Promise<void>;
  /** Resolves once the thread answered it (the answer is then held). */
  answered: Promise<void>;
  release(): void;
}

/**
 * A real worker-thread host whose answers the test can hold back: every request goes to the thread at once,
 * in the order it was made, as with any host; only the answer of the request picked by `holdLoad` reaches the
 * registry when the test releases it. That lets a test order what the registry hears as a busy thread would.
 */
class HeldAnswers implements ModelHost {
  readonly #holds = new Map<string, { reached: () => void; answered: () => void; released: Promise<void> }>();

  constructor(private readonly inner: ModelHost) {}

  get startMemory() {
    return this.inner.startMemory;
  }

  get memory() {
    return this.inner.memory;
  }

  /** Holds the answer to the next load of `name`. */
  holdLoad(name: string): Hold {
    let reached!: () => void;
    let answered!: () => void;
    let release!: () => void;
    const hold: Hold = {
      reached: new Promise<void>((resolve) => (reached = resolve)),
      answered: new Promise<void>((resolve) => (answered = resolve)),
      release: () => release(),
    };
    this.#holds.set(name, { reached, answered, released: new Promise<void>((resolve) => (release = resolve)) });
    return hold;
  }

  async load(name: string, dir: string, allowanceBytes: number): Promise<LoadOutcome> {
    const answer = this.inner.load(name, dir, allowanceBytes);
    const hold = this.#holds.get(name);
    if (!hold) return answer;
    this.#holds.delete(name);
    hold.reached();
    const outcome = await answer;
    hold.answered();
    await hold.released;
    return outcome;
  }

  unload(name: string): Promise<void> {
    return this.inner.unload(name);
  }

  forecastJson(name: string, period: number): Promise<string> {
    return this.inner.forecastJson(name, period);
  }

  limitGarbage(allowanceBytes: number): Promise<void> {
    return this.inner.limitGarbage(allowanceBytes);
  }

  drain(): Promise<void> {
    return this.inner.drain();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A registry on one worker thread with a 4 MiB budget and model `x` loaded, whose next thread holds back its
 * answer to the move of `x`; a 366-day forecast then makes the registry replace the thread. Resolves once the
 * new thread answered the move of `x`, the answer held.
 */
async function replacingWithMoveHeld(t: { teardown(fn: () => Promise<void>): void }): Promise<{ registry: ModelRegistry; fresh: HeldAnswers; move: Hold; dir: string }> {
  const startWorker = () => WorkerModelHost.create(REPLAY, () => undefined);
  let fresh: HeldAnswers | undefined;
  let move: Hold | undefined;
  let started!: () => void;
  const replacing = new Promise<void>((resolve) => (started = resolve));
  const registry = new ModelRegistry([await startWorker()], {
    budgetBytes: 4 * MiB,
    startHost: async () => {
      // Only the first replacement is held; a later one (none is expected) runs as usual.
      if (fresh) return startWorker();
      fresh = new HeldAnswers(await startWorker());
      move = fresh.holdLoad('x');
      started();
      return fresh;
    },
  });
  t.teardown(() => registry.close());
  const dir = [...models.dirs.values()][0]!;
  await registry.load('x', dir);
  await registry.forecastJson(registry.get('x'), 366);
  await replacing;
  await move!.answered;
  return { registry, fresh: fresh!, move: move!, dir };
}

// e8c161b: the move found the model unloaded and dropped its copy from the new thread, which by then held the
// model loaded again (the endpoint's reload after its eviction): the registry listed a model no thread held.
test('a model unloaded and loaded again onto the new thread while its move is under way stays loaded', async (t) => {
  const { registry, move, dir } = await replacingWithMoveHeld(t);
  await registry.unload('x');
  await registry.load('x', dir);
  move.release();
  await registry.settled();
  t.is(registry.memory().recycled, 1, 'the thread was replaced');
  const forecast = JSON.parse(await registry.forecastJson(registry.get('x'), 7)) as unknown[];
  t.is(forecast.length, 7);
});

// bf90f33: the move's answer came while the model's new load was still under way: the move asked the new thread to
// unload its copy after that load, and the load's model went with it.
test('a model unloaded while its move is under way, and being loaded again when the move answers, stays loaded', async (t) => {
  const { registry, fresh, move, dir } = await replacingWithMoveHeld(t);
  await registry.unload('x');
  const reload = fresh.holdLoad('x');
  const loading = registry.load('x', dir);
  await reload.answered;
  move.release();
  // The move acts on its answer (drops its copy, or waits for the load) before the load's answer is let through.
  await new Promise((resolve) => setImmediate(resolve));
  reload.release();
  await loading;
  await registry.settled();
  t.is(registry.memory().recycled, 1, 'the thread was replaced');
  const forecast = JSON.parse(await registry.forecastJson(registry.get('x'), 7)) as unknown[];
  t.is(forecast.length, 7);
});
