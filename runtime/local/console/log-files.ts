import { createWriteStream, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { SAGEMAKER_NAME_PATTERN } from '../../config/sagemaker-limits.js';

/**
 * Local mode's job and container output, one file per job or endpoint under `<data-dir>/logs/`:
 * `<job>.log` (every instance's lines, prefixed by host), `<endpoint>.log` (the inference
 * container's JSON lines and the endpoint's own), `local-aws.log` for the rest. Local AWS prefixes
 * each line with `[<job or endpoint>/<host or part>]` or `[<job or endpoint>]`.
 */
export const LOGS_FOLDER = 'logs';
export const LOCAL_AWS_LOG = 'local-aws';

/** The file a line belongs to: its job or endpoint name when it has one, else `local-aws`. */
export function logSourceOf(line: string): string {
  const name = /^\[([^\]/\s]+)[\]/]/.exec(line)?.[1];
  // Names come from requests: only a valid SageMaker name (no dots, no slashes) becomes a file name.
  return name !== undefined && SAGEMAKER_NAME_PATTERN.test(name) ? name : LOCAL_AWS_LOG;
}

export class LogFiles {
  readonly dir: string;
  readonly #streams = new Map<string, WriteStream>();

  constructor(dataDir: string) {
    this.dir = path.join(path.resolve(dataDir), LOGS_FOLDER);
    mkdirSync(this.dir, { recursive: true });
  }

  pathOf(source: string): string {
    return path.join(this.dir, `${source}.log`);
  }

  /** Appends the line, with its time, to its job's or endpoint's file. */
  write(line: string): void {
    const source = logSourceOf(line);
    let stream = this.#streams.get(source);
    if (!stream) {
      stream = createWriteStream(this.pathOf(source), { flags: 'a' });
      this.#streams.set(source, stream);
    }
    stream.write(`${new Date().toISOString()} ${line}\n`);
  }

  async close(): Promise<void> {
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    await Promise.all(streams.map((stream) => finished(stream.end())));
  }
}
