import type { HostSummary } from './job.js';

/**
 * Progress of one host on stderr, which SageMaker sends to CloudWatch and local mode shows:
 * models done out of the host's total, failures, rate and time left, every few seconds.
 */
export class ProgressReporter {
  readonly #host: string;
  readonly #total: number;
  readonly #log: (line: string) => void;
  readonly #intervalMs: number;
  #done: number;
  #failed = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #started = performance.now();
  readonly #startDone: number;

  constructor(options: { host: string; total: number; alreadyDone: number; log: (line: string) => void; intervalMs?: number }) {
    this.#host = options.host;
    this.#total = options.total;
    this.#done = options.alreadyDone;
    this.#startDone = options.alreadyDone;
    this.#log = options.log;
    this.#intervalMs = options.intervalMs ?? 5000;
  }

  start(): void {
    const resumed = this.#startDone > 0 ? `, ${this.#startDone} resumed from checkpoints` : '';
    this.#log(`[train ${this.#host}] ${this.#total} customers${resumed}`);
    this.#timer = setInterval(() => this.#report(), this.#intervalMs);
    this.#timer.unref();
  }

  record(status: 'trained' | 'failed' | 'interrupted'): void {
    if (status === 'interrupted') return;
    this.#done += 1;
    if (status === 'failed') this.#failed += 1;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  finish(summary: HostSummary): void {
    const { customers: c, holdout: h, timing: t } = summary;
    const errors =
      h.meanMae === null || h.meanSeasonalNaiveMae === null
        ? ''
        : `; holdout MAE ${h.meanMae.toFixed(3)} vs seasonal-naive ${h.meanSeasonalNaiveMae.toFixed(3)}`;
    const cpu = t.cpuMsPerModel === null ? '' : `, ${t.cpuMsPerModel.toFixed(0)} CPU ms/model`;
    this.#log(
      `[train ${this.#host}] ${summary.status}: ${c.trained} trained, ${c.resumed} resumed, ${c.failed} failed, ${c.interrupted} interrupted ` +
        `of ${c.total} in ${t.wallSeconds.toFixed(1)} s (${t.modelsPerSecond.toFixed(1)} models/s${cpu})${errors}`,
    );
  }

  #report(): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = (this.#done - this.#startDone) / seconds;
    const left = this.#total - this.#done;
    const eta = rate > 0 ? `, about ${Math.ceil(left / rate)} s left` : '';
    this.#log(`[train ${this.#host}] ${this.#done}/${this.#total} done (${this.#failed} failed), ${rate.toFixed(1)} models/s${eta}`);
  }
}
