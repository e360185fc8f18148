import * as policyRuntime from '@pulumi/policy';

/*
 * Pieces of the CrossGuard runtime that @pulumi/policy exports in JavaScript but strips from its
 * typings: the proxy the analyzer wraps resource properties in, and the error it throws when a
 * policy reads a value that is unknown during preview.
 */
const runtime = policyRuntime as unknown as {
  unknownCheckingProxy<T extends object>(target: T): T;
  UnknownValueError: new (...args: never[]) => Error;
};

export const unknownCheckingProxy = runtime.unknownCheckingProxy;
export const UnknownValueError = runtime.UnknownValueError;

/**
 * The engine sends a computed value as this string (`UnknownStringValue` in the Pulumi engine, also
 * `unknownValue` in @pulumi/pulumi's RPC layer); the proxy throws when a policy reads it.
 */
export const UNKNOWN_VALUE = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
