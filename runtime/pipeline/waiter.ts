import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls a job until it reaches a terminal state, backing off between polls (capped exponential with
 * jitter, as the AWS SDK's own waiters do) and giving up after a deadline. Unlike the SDK's waiters it
 * reports every change of status, secondary status or message, so long steps show progress.
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};

export interface BackoffOptions {
  /** First delay and the floor of every delay. */
  readonly minDelayMs: number;
  /** Ceiling of the exponential growth. */
  readonly maxDelayMs: number;
}

/**
 * The delay before poll number `attempt` (0-based): the exponential value capped at `maxDelayMs`,
 * with "equal jitter" (half fixed, half random) so many waiters do not poll in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponential = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30));
  const delay = exponential / 2 + (random() * exponential) / 2;
  return Math.max(options.minDelayMs, Math.round(delay));
}

export interface JobSnapshot {
  readonly status: string;
  readonly secondaryStatus?: string | undefined;
  /** A status message, failure reason or progress note. */
  readonly message?: string | undefined;
  /** What the job has done so far, when the caller can tell (for example models uploaded). */
  readonly progress?: string | undefined;
  readonly terminal: boolean;
}

export interface WaitOptions<T extends JobSnapshot> {
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly timeoutMs: number;
  readonly random?: () => number;
  /**
   * Called with the first snapshot and every one whose status, secondary status or message differs
   * from the last one reported; a change of progress alone is reported at most every `progressIntervalMs`.
   */
  readonly onChange?: (snapshot: T) => void;
  /** Default 5000: a thousand models make a thousand progress changes. */
  readonly progressIntervalMs?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 1000, maxDelayMs: 30_000 };
export const DEFAULT_PROGRESS_INTERVAL_MS = 5000;

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  readonly code = 'E_WAIT_TIMEOUT';
  constructor(
    readonly what: string,
    readonly last: JobSnapshot | undefined,
    timeoutMs: number,
  ) {
    super(
      `Gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s; last status ${describeSnapshot(last)}. ` +
        'The job was left running: rerun the same run to resume waiting for it.',
    );
  }
}

export async function waitUntilTerminal<T extends JobSnapshot>(what: string, poll: () => Promise<T>, options: WaitOptions<T>): Promise<T> {
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const deadline = clock.now() + options.timeoutMs;
  let last: T | undefined;
  let reported: { snapshot: T; at: number } | undefined;
  for (let attempt = 0; ; attempt += 1) {
    const snapshot = await poll();
    last = snapshot;
    const now = clock.now();
    if (
      reported === undefined ||
      statusChanged(reported.snapshot, snapshot) ||
      (reported.snapshot.progress !== snapshot.progress && now - reported.at >= progressIntervalMs)
    ) {
      options.onChange?.(snapshot);
      reported = { snapshot, at: now };
    }
    if (snapshot.terminal) return snapshot;
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new WaitTimeoutError(what, last, options.timeoutMs);
    await clock.sleep(Math.min(remaining, backoffDelay(attempt, backoff, options.random)));
  }
}

function statusChanged(a: JobSnapshot, b: JobSnapshot): boolean {
  return a.status !== b.status || a.secondaryStatus !== b.secondaryStatus || a.message !== b.message;
}

export function describeSnapshot(snapshot: JobSnapshot | undefined): string {
  if (snapshot === undefined) return 'unknown';
  const secondary = snapshot.secondaryStatus ? `/${snapshot.secondaryStatus}` : '';
  const message = snapshot.message ? ` (${snapshot.message})` : '';
  const progress = snapshot.progress ? `, ${snapshot.progress}` : '';
  return `${snapshot.status}${secondary}${message}${progress}`;
}
