import type { ServerResponse } from 'node:http';

/**
 * A test-only switch that makes local S3 answer a share of client requests with S3's own retryable
 * errors (500 InternalError, 503 SlowDown), to prove that the SDK's and the pipeline's retries absorb
 * them. Local SageMaker's own S3 traffic (jobs, endpoints) is left alone: on AWS that traffic is
 * inside the service and retried there.
 */
export interface S3FaultOptions {
  /** Share of client S3 requests answered with an error, 0–1. */
  readonly share: number;
  /** Which errors, picked in turn; default both. */
  readonly statuses?: readonly (500 | 503)[];
  /** Uniform [0, 1); default Math.random (tests pass a seeded one). */
  readonly random?: () => number;
  /**
   * Faults are transient: one SDK call (`amz-sdk-invocation-id`, the same on its retries) fails at
   * most this many times; default 1. Calls without the header fail by share alone.
   */
  readonly maxFailuresPerCall?: number;
}

const ERRORS = {
  500: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  503: { code: 'SlowDown', message: 'Please reduce your request rate.' },
} as const;

export class S3FaultSwitch {
  #next = 0;
  /** Errors answered so far, by status. */
  readonly injected = { 500: 0, 503: 0 };

  #share = 0;

  constructor(private readonly options: S3FaultOptions) {
    this.share = options.share;
  }

  get share(): number {
    return this.#share;
  }

  /** Turns faults up or down while the server runs. */
  set share(value: number) {
    if (!(value >= 0 && value <= 1)) throw new RangeError(`S3 fault share must be between 0 and 1; received ${value}`);
    this.#share = value;
  }

  readonly #failuresByCall = new Map<string, number>();

  /** The status to fail this request with, or undefined to serve it. */
  pick(invocationId: string | undefined): 500 | 503 | undefined {
    if ((this.options.random ?? Math.random)() >= this.#share) return undefined;
    if (invocationId !== undefined) {
      const failures = this.#failuresByCall.get(invocationId) ?? 0;
      if (failures >= (this.options.maxFailuresPerCall ?? 1)) return undefined;
      // Old calls are forgotten in insertion order; a call's retries come within seconds.
      if (this.#failuresByCall.size >= 10_000) this.#failuresByCall.delete(this.#failuresByCall.keys().next().value as string);
      this.#failuresByCall.set(invocationId, failures + 1);
    }
    const statuses = this.options.statuses ?? [503, 500];
    const status = statuses[this.#next++ % statuses.length] ?? 503;
    this.injected[status]++;
    return status;
  }
}

export function answerS3Fault(res: ServerResponse, status: 500 | 503): void {
  const { code, message } = ERRORS[status];
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'local-fault-injection' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}
