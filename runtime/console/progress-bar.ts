import cliProgress from 'cli-progress';

/**
 * One progress bar for long work (pipeline steps in `npm start`, batch forecasts). On a terminal it
 * is redrawn in place and erased when stopped, so the caller's one summary line replaces it; on
 * anything else (a file, a pipe, a CI log) cli-progress writes it as a plain line every
 * `plainIntervalMs` and at the end, from the first interval on.
 */
export interface ProgressBar {
  /** `done` of `total` (the total may become known late); `status` says what is going on. */
  update(progress: { done?: number; total?: number; status?: string }): void;
  stop(): void;
}

export interface ProgressBarOptions {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** What the bar counts for, e.g. `training`. */
  readonly label: string;
  /** What it counts, e.g. `models`. */
  readonly unit: string;
  readonly total?: number;
  readonly status?: string;
  /** Plain lines' interval when the stream is not a terminal; default 10 s. */
  readonly plainIntervalMs?: number;
}

interface Payload {
  label: string;
  unit: string;
  status: string;
  /** When the work started: a deferred bar starts later. */
  startedAt: number;
}

export const DEFAULT_PLAIN_INTERVAL_MS = 10_000;

export function startProgressBar(options: ProgressBarOptions): ProgressBar {
  const plainIntervalMs = options.plainIntervalMs ?? DEFAULT_PLAIN_INTERVAL_MS;
  const bar = new cliProgress.SingleBar({
    stream: options.stream,
    format: formatBar,
    barsize: 24,
    clearOnComplete: true,
    // No SIGINT handler of its own (it would swallow a CLI's first Ctrl-C); callers stop the bar.
    gracefulExit: false,
    noTTYOutput: true,
    notTTYSchedule: plainIntervalMs,
    etaBuffer: 20,
  });
  const payload: Payload = { label: options.label, unit: options.unit, status: options.status ?? '', startedAt: Date.now() };
  const state = { done: 0, total: options.total ?? 0 };
  const start = () => bar.start(state.total, state.done, payload);
  // Plain lines only for work that outlasts one interval: a short step shows just its summary line.
  const deferred = options.stream.isTTY ? undefined : setTimeout(start, plainIntervalMs).unref();
  if (!deferred) start();
  let stopped = false;
  return {
    update({ done, total, status }) {
      if (stopped) return;
      if (status !== undefined) payload.status = status;
      if (total !== undefined) state.total = total;
      if (done !== undefined) state.done = done;
      if (!bar.isActive) return;
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(total);
      if (done === undefined) bar.update({ status: payload.status });
      else bar.update(done, { status: payload.status });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(deferred);
      if (bar.isActive) bar.stop();
    },
  };
}

/** `label [bar] done/total unit · status (elapsed)`; without a total yet, `label status (elapsed)`. */
function formatBar(options: cliProgress.Options, params: cliProgress.Params, payload: Payload): string {
  const elapsed = Math.round(((params.stopTime ?? Date.now()) - payload.startedAt) / 1000);
  const status = payload.status ? ` · ${payload.status}` : '';
  if (params.total <= 0) return `${payload.label}${status} (${elapsed} s)`;
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  const eta = params.value > 0 && params.value < params.total && Number.isFinite(params.eta) ? `, about ${params.eta} s left` : '';
  return `${payload.label} [${bar}] ${params.value}/${params.total} ${payload.unit}${status} (${elapsed} s${eta})`;
}
