import fs from 'node:fs/promises';
import path from 'node:path';
import type { InternalS3 } from '../s3/internal-client.js';
import { fileForKey, joinKey, listFiles, mapLimit } from './job-support.js';
import type { S3Location } from './validation.js';
import { relativeKey } from './data-distribution.js';

/** Ticks between two scans that compare every file, not only new names, with what was uploaded. */
const FULL_SCAN_EVERY = 20;

/**
 * SageMaker's checkpoint sync for one instance: objects under `CheckpointConfig.S3Uri` are copied
 * into the local checkpoint folder before training, and files that appear or change there are
 * uploaded while it runs and once more at the end. Files whose name starts with `.` are skipped:
 * they are writers' temporary files, renamed into place when complete.
 *
 * Each tick uploads the files that appeared since the last one (a folder listing, no stat of the
 * files already uploaded); every {@link FULL_SCAN_EVERY} ticks, and at the end, every file is
 * compared with what was uploaded, so a changed file goes up too. Stat-ing every file every tick
 * cost O(files) per tick: quadratic over a job writing 5,000 checkpoints per instance.
 */
export class CheckpointSync {
  readonly #uploaded = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> = Promise.resolve();
  #ticks = 0;

  constructor(
    private readonly s3: InternalS3,
    private readonly localDir: string,
    private readonly target: S3Location,
    private readonly log: (line: string) => void,
  ) {}

  /** Copies the existing checkpoints in; returns how many. */
  async restore(): Promise<number> {
    await fs.mkdir(this.localDir, { recursive: true });
    const prefix = this.target.key === '' || this.target.key.endsWith('/') ? this.target.key : `${this.target.key}/`;
    const keys = (await this.s3.listKeys(this.target.bucket, prefix)).filter((key) => !key.endsWith('/'));
    await mapLimit(keys, 16, async (key) => {
      const rel = relativeKey(prefix, key);
      const file = fileForKey(this.localDir, rel, `s3://${this.target.bucket}/${key}`);
      await this.s3.download(this.target.bucket, key, file);
      this.#uploaded.set(rel, await this.#signature(file));
    });
    return keys.length;
  }

  start(intervalMs: number): void {
    let busy = false;
    this.#timer = setInterval(() => {
      // A tick while a scan is still uploading is skipped, not queued: a queue of scans grew
      // without bound on a loaded machine and the job's end waited for all of them.
      if (busy) return;
      busy = true;
      const full = ++this.#ticks % FULL_SCAN_EVERY === 0;
      this.#scanning = this.#scan(full)
        .catch((error: unknown) => this.log(`checkpoint upload failed: ${(error as Error).message}`))
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
  }

  /** Stops watching and uploads whatever is new or changed. */
  async finish(): Promise<void> {
    clearInterval(this.#timer);
    await this.#scanning.catch(() => undefined);
    await this.#scan(true);
  }

  /** Uploads new files, and with `full` changed ones too. */
  async #scan(full: boolean): Promise<void> {
    const files = (await listFiles(this.localDir, (name) => name.startsWith('.'))).filter((rel) => full || !this.#uploaded.has(rel));
    await mapLimit(files, 8, async (rel) => {
      const file = path.join(this.localDir, ...rel.split('/'));
      let signature: string;
      try {
        signature = await this.#signature(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      if (this.#uploaded.get(rel) === signature) return;
      await this.s3.upload(this.target.bucket, joinKey(this.target.key, rel), file);
      this.#uploaded.set(rel, signature);
    });
  }

  async #signature(file: string): Promise<string> {
    const stat = await fs.stat(file);
    return `${stat.size}:${stat.mtimeMs}`;
  }
}
