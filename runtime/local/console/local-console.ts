import { formatPipelineEvent } from '../../pipeline/run-pipeline.js';
import type { PipelineEvent } from '../../pipeline/run-pipeline.js';
import { LogFiles } from './log-files.js';
import { createPipelineProgress } from './pipeline-progress.js';

/**
 * What `npm start` shows and where the rest goes. Quiet (the default): local mode's own lines and
 * the pipeline's progress, one line per step, on the console; job and container output (the
 * inference container's JSON lines, Stan's stray lines from training workers) only in
 * `<data-dir>/logs/`. Verbose: everything on the console as well, as it comes.
 */
export interface LocalConsole {
  /** Local mode's own lines. */
  log(line: string): void;
  /** Local AWS's lines: jobs, instances, containers, endpoints. */
  serviceLog(line: string): void;
  onPipelineEvent(event: PipelineEvent): void;
  /** The folder the job and endpoint logs are written to. */
  readonly logDir: string;
  /** Stops a progress bar left running and flushes the log files. */
  close(): Promise<void>;
}

export function createLocalConsole(options: {
  readonly dataDir: string;
  readonly verbose: boolean;
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
}): LocalConsole {
  const files = new LogFiles(options.dataDir);
  const log = (line: string) => options.stream.write(`${line}\n`);
  const progress = options.verbose ? undefined : createPipelineProgress({ stream: options.stream });
  return {
    log,
    serviceLog(line) {
      files.write(line);
      if (options.verbose) log(`  ${line}`);
    },
    onPipelineEvent(event) {
      if (progress) progress.onEvent(event);
      else log(formatPipelineEvent(event));
    },
    logDir: files.dir,
    async close() {
      progress?.stop();
      await files.close();
    },
  };
}
