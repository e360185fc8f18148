/**
 * How long data lives: the defaults and limits of the settings that decide when a customer leaves
 * and when old objects are deleted. The pipeline's configuration and the Pulumi stack config both
 * import them, so a default is written once.
 */

/** A customer with no row this many days before the data set's newest row leaves the manifest. */
export const DEFAULT_DROP_AFTER_DAYS = 90;

/** Model versions, run data and history manifests older than this, and referenced by no kept manifest, are deleted. */
export const DEFAULT_RETENTION_DAYS = 30;

/**
 * Days a noncurrent object version lives before the bucket's lifecycle rule expires it: how long data
 * that cleanup or `forget` deleted (or `forget` rewrote) stays recoverable in the versioned bucket.
 */
export const DEFAULT_NONCURRENT_VERSION_DAYS = 30;

/** Longest window any of these settings accepts: ten years. */
export const MAX_DATA_LIFE_DAYS = 3650;
