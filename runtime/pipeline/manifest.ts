/**
 * The manifest says which model each customer is served from. The pipeline writes
 * `manifests/history/<runId>.json` and then flips `manifests/current.json`; the forecast client
 * reads `current.json` to resolve a customer's `TargetModel`. Model names are versioned per run and
 * never overwritten, because a multi-model endpoint may keep serving a cached copy of an overwritten
 * object.
 */

export const MANIFEST_FORMAT_VERSION = 1;

/** Key of the manifest the endpoint's clients read. */
export const CURRENT_MANIFEST_KEY = 'manifests/current.json';

/** Prefix of the manifests of every published run. */
export const MANIFEST_HISTORY_PREFIX = 'manifests/history/';

/** Key of one run's manifest in the history. */
export function historyManifestKey(runId: string): string {
  return `${MANIFEST_HISTORY_PREFIX}${runId}.json`;
}

/** The `TargetModel` of a customer's model of one run: its key relative to the endpoint's `s3://<bucket>/models/`. */
export function targetModelName(runId: string, customerId: string): string {
  return `${runId}/${customerId}.tar.gz`;
}

/** Holdout metrics of a model, by name (for example `mae`, `rmse`, `wape`); null when the model has none. */
export type ModelMetrics = Readonly<Record<string, number | null>>;

export interface ManifestEntry {
  /** What to pass as `TargetModel` to `InvokeEndpoint`: `<runId>/<customerId>.tar.gz`. */
  readonly targetModel: string;
  /** The run that trained this model; older than the manifest's run when the newest model failed validation. */
  readonly runId: string;
  /** ISO time the model was trained. */
  readonly trainedAt: string;
  readonly metrics: ModelMetrics;
  /** SHA-256 of the customer file the model was fitted on (the artifact's `source.sha256`). */
  readonly sourceSha256?: string;
  /** Hash of the settings the model was trained with (`trainingSettingsHash`); a customer whose data and settings hash the same is not retrained. */
  readonly settingsHash?: string;
}

/** What a rollback manifest records about itself (`npm run rollback`). */
export interface RollbackRecord {
  /** The run id of the manifest the rollback replaced. */
  readonly fromRunId: string;
  /** The night rolled back to. */
  readonly toRunId: string;
  /** Set when one customer was rolled back; the others kept their models. */
  readonly customerId?: string;
  /** The night whose manifest this one mostly serves: `toRunId`, or for one customer the night served before. */
  readonly baseRunId: string;
}

export interface Manifest {
  readonly formatVersion: typeof MANIFEST_FORMAT_VERSION;
  /** The run that published this manifest (`<night>-rollback-<time>` for a rollback, so it sorts after the night it replaced). */
  readonly runId: string;
  /** ISO time the manifest was published. */
  readonly publishedAt: string;
  /** The multi-model endpoint the models are served from. */
  readonly endpointName: string;
  /** One entry per customer, keyed by customer id. */
  readonly models: Readonly<Record<string, ManifestEntry>>;
  /** Present when `npm run rollback` wrote this manifest. */
  readonly rollback?: RollbackRecord;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly code = 'E_MANIFEST_INVALID';
}

/** Parses and validates a manifest from its JSON text (or an already parsed value); errors name the offending field. */
export function parseManifest(json: string | unknown, source = 'manifest'): Manifest {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new ManifestError(`${source} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  const root = expectObject(value, source);
  if (root.formatVersion !== MANIFEST_FORMAT_VERSION) {
    throw new ManifestError(
      `${source} [formatVersion] is ${JSON.stringify(root.formatVersion)}; this reader understands ${MANIFEST_FORMAT_VERSION}`,
    );
  }
  const runId = expectString(root.runId, `${source} [runId]`);
  const publishedAt = expectString(root.publishedAt, `${source} [publishedAt]`);
  const endpointName = expectString(root.endpointName, `${source} [endpointName]`);
  const rawModels = expectObject(root.models, `${source} [models]`);
  const models: Record<string, ManifestEntry> = {};
  for (const [customerId, rawEntry] of Object.entries(rawModels)) {
    models[customerId] = parseEntry(rawEntry, `${source} [models.${customerId}]`);
  }
  const manifest = { formatVersion: MANIFEST_FORMAT_VERSION, runId, publishedAt, endpointName, models } as const;
  if (root.rollback === undefined) return manifest;
  const rollback = expectObject(root.rollback, `${source} [rollback]`);
  const customerId = rollback.customerId === undefined ? undefined : expectString(rollback.customerId, `${source} [rollback.customerId]`);
  return {
    ...manifest,
    rollback: {
      fromRunId: expectString(rollback.fromRunId, `${source} [rollback.fromRunId]`),
      toRunId: expectString(rollback.toRunId, `${source} [rollback.toRunId]`),
      ...(customerId === undefined ? {} : { customerId }),
      baseRunId: expectString(rollback.baseRunId, `${source} [rollback.baseRunId]`),
    },
  };
}

function parseEntry(value: unknown, where: string): ManifestEntry {
  const entry = expectObject(value, where);
  const metricsObject = expectObject(entry.metrics, `${where}.metrics`);
  const metrics: Record<string, number | null> = {};
  for (const [name, metric] of Object.entries(metricsObject)) {
    if (metric !== null && (typeof metric !== 'number' || !Number.isFinite(metric))) {
      throw new ManifestError(`${where}.metrics.${name} is ${JSON.stringify(metric)}; expected a finite number or null`);
    }
    metrics[name] = metric;
  }
  return {
    targetModel: expectString(entry.targetModel, `${where}.targetModel`),
    runId: expectString(entry.runId, `${where}.runId`),
    trainedAt: expectString(entry.trainedAt, `${where}.trainedAt`),
    metrics,
    ...(entry.sourceSha256 === undefined ? {} : { sourceSha256: expectHash(entry.sourceSha256, `${where}.sourceSha256`) }),
    ...(entry.settingsHash === undefined ? {} : { settingsHash: expectHash(entry.settingsHash, `${where}.settingsHash`) }),
  };
}

function expectHash(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw new ManifestError(`${where} is ${describe(value)}; expected a SHA-256 as 64 lowercase hex digits`);
  }
  return value;
}

function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ManifestError(`${where} is ${describe(value)}; expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ManifestError(`${where} is ${describe(value)}; expected a non-empty string`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value);
}

/**
 * The manifest a run publishes: every customer with a new valid model points at it; a customer whose
 * new model is missing or invalid keeps its entry from the previous manifest (if it had one); a
 * customer in `remove` (one who left) has no entry.
 */
export function mergeManifest(args: {
  readonly previous: Manifest | undefined;
  readonly runId: string;
  readonly publishedAt: string;
  readonly endpointName: string;
  readonly fresh: Readonly<Record<string, ManifestEntry>>;
  readonly remove?: readonly string[];
}): Manifest {
  const models: Record<string, ManifestEntry> = { ...(args.previous?.models ?? {}), ...args.fresh };
  for (const customerId of args.remove ?? []) delete models[customerId];
  const sorted = Object.fromEntries(Object.entries(models).sort(([a], [b]) => compareCustomerIds(a, b)));
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    runId: args.runId,
    publishedAt: args.publishedAt,
    endpointName: args.endpointName,
    models: sorted,
  };
}

/** Numeric ids in numeric order, anything else after them in string order. */
export function compareCustomerIds(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
