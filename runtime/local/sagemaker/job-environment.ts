/**
 * What a local job or endpoint process gets as its environment. On AWS a request's `Environment`
 * reaches a container isolated from the user's machine; here the container is a process of the
 * user, so a key that changes how Node, the module loader or the dynamic linker runs
 * (`NODE_OPTIONS=--require …`, `LD_PRELOAD`, `PATH`) would run a request's code as the user. Those
 * keys are refused, and the process starts from an explicit environment, never the server's.
 */

/** AWS's pattern for `Environment` keys (CreateTrainingJob, CreateProcessingJob, CreateModel). */
export const ENVIRONMENT_KEY_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Keys refused exactly (upper-cased): the loader's, the shell's, and the paths local mode decides. */
const REFUSED_KEYS = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'BASH_ENV',
  'ENV',
  'SHELL',
  'IFS',
  'GCONV_PATH',
  'LOCPATH',
  'HOSTALIASES',
  'GLIBC_TUNABLES',
  'SAGEMAKER_BASE_DIR',
]);
/** Key prefixes refused (upper-cased): Node and its loaders, the dynamic linker, libuv, OpenSSL, malloc. */
const REFUSED_PREFIXES = ['NODE_', 'NPM_', 'TSX_', 'ESBUILD_', 'LD_', 'DYLD_', 'UV_', 'OPENSSL_', 'SSL_CERT_', 'MALLOC_'];

/** Why an `Environment` key may not be passed to a local process, or undefined when it may. Pure. */
export function environmentKeyProblem(key: string): string | undefined {
  if (!ENVIRONMENT_KEY_PATTERN.test(key)) return `Environment key '${key}' must satisfy regular expression pattern: ${ENVIRONMENT_KEY_PATTERN.source}`;
  const upper = key.toUpperCase();
  const prefix = REFUSED_PREFIXES.find((p) => upper.startsWith(p));
  if (REFUSED_KEYS.has(upper) || prefix !== undefined) {
    return `Environment key '${key}' is refused by local mode: it changes how Node, its module loader or the system loader runs (${prefix ? `${prefix}*` : upper}), and local jobs run as processes of this machine's user.`;
  }
  return undefined;
}

/**
 * The host variables a local process keeps: the user's own (not a request's) search path, home,
 * temporary folder (tsx's compile cache lives there), locale and time zone. Nothing else of the
 * server's environment (its NODE_OPTIONS, credentials, …) reaches a job.
 */
const KEPT_HOST_KEYS = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT'];

/**
 * The whole environment of a local job or endpoint process: the kept host variables, the request's
 * `Environment` without refused keys, then local mode's own variables (which a request cannot override).
 */
export function processEnvironment(host: NodeJS.ProcessEnv, request: Readonly<Record<string, string>>, fixed: Readonly<Record<string, string>>): Record<string, string> {
  const kept = Object.fromEntries(KEPT_HOST_KEYS.flatMap((k) => (host[k] === undefined ? [] : [[k, host[k] as string]])));
  const checked = Object.fromEntries(Object.entries(request).filter(([key]) => environmentKeyProblem(key) === undefined));
  return { ...kept, ...checked, ...fixed };
}
