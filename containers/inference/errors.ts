/**
 * Every error the inference server answers with, each with a stable `code` and its HTTP status.
 * Bodies are `{statusCode, code, message}`; clients branch on `code`, people read `message`.
 */
export const ERROR_CODES = {
  E_BODY_EMPTY: 400,
  E_BODY_NOT_JSON: 400,
  E_BODY_NOT_OBJECT: 400,
  E_PERIOD_MISSING: 400,
  E_PERIOD_NOT_INTEGER: 400,
  E_PERIOD_OUT_OF_RANGE: 400,
  E_MODEL_NAME_INVALID: 400,
  E_MODEL_URL_INVALID: 400,
  E_PAGINATION_INVALID: 400,
  E_BODY_TOO_LARGE: 413,
  E_ROUTE_NOT_FOUND: 404,
  E_MODEL_NOT_LOADED: 404,
  E_MODEL_ALREADY_LOADED: 409,
  E_MODEL_ARTIFACT_INVALID: 422,
  E_INSUFFICIENT_MEMORY: 507,
  E_SHUTTING_DOWN: 503,
  E_INTERNAL: 500,
} as const;

export type InferenceErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  /** The underlying cause's own code when there is one, e.g. the model artifact's validation code. */
  reason?: string;
}

export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  readonly statusCode: number;
  readonly reason: string | undefined;

  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    options?: { cause?: unknown; reason?: string },
  ) {
    super(message, options);
    this.statusCode = ERROR_CODES[code];
    this.reason = options?.reason;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { statusCode: this.statusCode, code: this.code, message: this.message };
    if (this.reason !== undefined) body.reason = this.reason;
    return body;
  }
}

/** Checks `name` and `code`, not `instanceof`: errors that crossed a worker boundary lose their class. */
export function isInferenceError(error: unknown): error is InferenceError {
  if (!(error instanceof Error) || error.name !== 'InferenceError') return false;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' && code in ERROR_CODES;
}
