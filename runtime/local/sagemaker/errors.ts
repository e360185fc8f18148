/**
 * SageMaker API errors as awsJson1_1 carries them: HTTP 400, `x-amzn-errortype` and `__type` naming
 * the error, `message` for the SDK. The names are the ones the real service returns, so the SDK
 * raises the same exception classes as on AWS.
 */
export type SageMakerErrorType =
  | 'ValidationException'
  | 'ResourceInUse'
  | 'ResourceLimitExceeded'
  | 'UnknownOperationException'
  | 'SerializationException'
  | 'InternalFailure';

export class SageMakerError extends Error {
  override readonly name = 'SageMakerError';
  constructor(
    readonly type: SageMakerErrorType,
    message: string,
    readonly statusCode = type === 'InternalFailure' ? 500 : 400,
  ) {
    super(message);
  }
}

export const validationError = (message: string) => new SageMakerError('ValidationException', message);
export const resourceInUse = (message: string) => new SageMakerError('ResourceInUse', message);
export const resourceLimitExceeded = (message: string) => new SageMakerError('ResourceLimitExceeded', message);
