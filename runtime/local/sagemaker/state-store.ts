import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * SageMaker resources of one kind, kept in memory and persisted as one JSON file per resource under
 * `<dataDir>/sagemaker/<kind>/`, so a restarted server still describes yesterday's jobs.
 * Each save replaces the file atomically; saves of one resource are applied in order.
 */
export class StateStore<T extends object> {
  readonly #dir: string;
  readonly #records = new Map<string, T>();
  readonly #writes = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open<T extends object>(root: string, kind: string): Promise<StateStore<T>> {
    const store = new StateStore<T>(path.join(root, kind));
    await fs.mkdir(store.#dir, { recursive: true });
    for (const file of await fs.readdir(store.#dir)) {
      if (!file.endsWith('.json')) continue;
      const record = JSON.parse(await fs.readFile(path.join(store.#dir, file), 'utf8')) as T;
      store.#records.set(file.slice(0, -'.json'.length), record);
    }
    return store;
  }

  get(name: string): T | undefined {
    return this.#records.get(name);
  }

  has(name: string): boolean {
    return this.#records.has(name);
  }

  values(): T[] {
    return [...this.#records.values()];
  }

  /** Stores the record and persists it; the returned promise settles once it is on disk. */
  save(name: string, record: T): Promise<void> {
    this.#records.set(name, record);
    return this.#enqueue(name, async () => {
      const file = path.join(this.#dir, `${name}.json`);
      const partial = `${file}.partial`;
      await fs.writeFile(partial, JSON.stringify(this.#records.get(name) ?? record, null, 2));
      await fs.rename(partial, file);
    });
  }

  delete(name: string): Promise<void> {
    this.#records.delete(name);
    return this.#enqueue(name, () => fs.rm(path.join(this.#dir, `${name}.json`), { force: true }));
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  #enqueue(name: string, write: () => Promise<void>): Promise<void> {
    const previous = this.#writes.get(name) ?? Promise.resolve();
    const next = previous.then(write, write);
    this.#writes.set(name, next);
    void next.finally(() => {
      if (this.#writes.get(name) === next) this.#writes.delete(name);
    }).catch(() => undefined);
    return next;
  }
}
