import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ContainerCommand } from './container-command.js';
import { processEnvironment } from './job-environment.js';

export interface InstanceExit {
  host: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One instance of a job: the container's entrypoint as a child process, its output streamed line by
 * line to `log` prefixed `[<job>/<host>]`, its pid written to `pidFile` (so tests and operators can
 * find and kill one instance, as a spot interruption would).
 */
export class InstanceProcess {
  readonly exited: Promise<InstanceExit>;
  readonly #child: ChildProcess;

  constructor(o: {
    job: string;
    host: string;
    command: ContainerCommand;
    /** The request's `Environment` (CreateTrainingJob, CreateProcessingJob, CreateModel), already validated. */
    requestEnv: Readonly<Record<string, string>>;
    /** Local mode's own variables for the container contract; they win over the request's. */
    env: Record<string, string>;
    pidFile: string;
    log: (line: string) => void;
  }) {
    this.#child = spawn(o.command.command, o.command.args, {
      cwd: o.command.cwd,
      env: processEnvironment(process.env, o.requestEnv, o.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = `[${o.job}/${o.host}]`;
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => o.log(`${prefix} ${line}`));
    }
    const pid = this.#child.pid;
    if (pid !== undefined) void fs.writeFile(o.pidFile, `${pid}\n`).catch(() => undefined);
    this.exited = new Promise((resolve) => {
      this.#child.once('error', (error) => {
        o.log(`${prefix} could not start: ${error.message}`);
        resolve({ host: o.host, code: 127, signal: null });
      });
      this.#child.once('exit', (code, signal) => resolve({ host: o.host, code, signal }));
    });
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs` if it is still running (what `docker stop -t` does). */
  async stop(graceMs: number): Promise<InstanceExit> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** How SageMaker words an instance's exit: code 137 for SIGKILL, as Docker reports it. */
export function describeExit(exit: InstanceExit): string {
  if (exit.signal) {
    const code = exit.signal === 'SIGKILL' ? 137 : exit.signal === 'SIGTERM' ? 143 : undefined;
    return `${exit.host} was terminated by ${exit.signal}${code ? ` (exit code ${code})` : ''}`;
  }
  return `${exit.host} exited with code ${exit.code}`;
}
