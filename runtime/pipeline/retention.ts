import { MODELS_PREFIX, RUNS_PREFIX, runPrefix } from './bucket-layout.js';
import { CURRENT_MANIFEST_KEY, MANIFEST_HISTORY_PREFIX, historyManifestKey, type Manifest } from './manifest.js';

/**
 * The retention decision (pure): which model versions, run data and history manifests older than
 * the retention go. A history manifest is kept while its run is within the retention; the model a
 * kept manifest or `current.json` references is kept however old; `current.json`'s own history copy
 * and run data are kept. Objects outside `models/`, `runs/` and `manifests/history/` (raw drops,
 * `current.json`, lasting reports) are never candidates. Ages come from run ids, which are the
 * scheduled times and sort in time order, so the cutoff is a run id too.
 */

export type RetainedKind = 'model' | 'run-data' | 'history-manifest';

export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export interface RetentionItem extends StoredObject {
  readonly kind: RetainedKind;
  readonly runId: string;
  /** Why it goes or stays, for people. */
  readonly reason: string;
}

export interface RetentionDecision {
  /** Runs older than this id are past the retention. */
  readonly cutoffRunId: string;
  readonly remove: readonly RetentionItem[];
  /** Objects past the retention that stay, each with the reason. */
  readonly keep: readonly RetentionItem[];
}

export function decideRetention(args: {
  readonly objects: readonly StoredObject[];
  readonly current: Manifest | undefined;
  /** Every history manifest within the retention, parsed (older ones are not needed). */
  readonly keptHistory: readonly Manifest[];
  readonly cutoffRunId: string;
  readonly retentionDays: number;
}): RetentionDecision {
  const { cutoffRunId, current } = args;
  const referencedBy = new Map<string, string>();
  const kept: Array<[string, Manifest]> = [
    ...(current ? ([[CURRENT_MANIFEST_KEY, current]] as Array<[string, Manifest]>) : []),
    ...args.keptHistory.map((manifest): [string, Manifest] => [historyManifestKey(manifest.runId), manifest]),
  ];
  for (const [name, manifest] of kept) {
    for (const entry of Object.values(manifest.models)) {
      const key = `${MODELS_PREFIX}${entry.targetModel}`;
      if (!referencedBy.has(key)) referencedBy.set(key, name);
    }
  }
  const remove: RetentionItem[] = [];
  const keep: RetentionItem[] = [];
  const past = `older than the ${args.retentionDays}-day retention (run before ${cutoffRunId})`;
  for (const object of args.objects) {
    const located = locate(object.key);
    if (located === undefined || located.runId >= cutoffRunId) continue;
    const item = (reason: string): RetentionItem => ({ ...object, ...located, reason });
    if (located.kind === 'model') {
      const by = referencedBy.get(object.key);
      if (by !== undefined) keep.push(item(`${past}, but ${by} references it`));
      else remove.push(item(`${past} and referenced by no kept manifest`));
    } else if (located.runId === current?.runId) {
      keep.push(item(`${past}, but it belongs to the run that published ${CURRENT_MANIFEST_KEY}`));
    } else {
      remove.push(item(past));
    }
  }
  return { cutoffRunId, remove, keep };
}

/** The kind and run of a key under `models/`, `runs/` or `manifests/history/`; undefined for anything else. */
export function locate(key: string): { kind: RetainedKind; runId: string } | undefined {
  const runOf = (prefix: string, rest: string) => {
    const slash = rest.indexOf('/');
    return slash > 0 && key.startsWith(prefix) ? rest.slice(0, slash) : undefined;
  };
  if (key.startsWith(MODELS_PREFIX)) {
    const runId = runOf(MODELS_PREFIX, key.slice(MODELS_PREFIX.length));
    return runId === undefined ? undefined : { kind: 'model', runId };
  }
  if (key.startsWith(RUNS_PREFIX)) {
    const runId = runOf(RUNS_PREFIX, key.slice(RUNS_PREFIX.length));
    return runId === undefined || !key.startsWith(runPrefix(runId)) ? undefined : { kind: 'run-data', runId };
  }
  if (key.startsWith(MANIFEST_HISTORY_PREFIX) && key.endsWith('.json')) {
    const runId = key.slice(MANIFEST_HISTORY_PREFIX.length, -'.json'.length);
    return runId.length > 0 && !runId.includes('/') ? { kind: 'history-manifest', runId } : undefined;
  }
  return undefined;
}

/** Counts and bytes of a decision, for the run report and the CLI. */
export interface RetentionSummary {
  readonly cutoffRunId: string;
  readonly retentionDays: number;
  readonly removed: { readonly objects: number; readonly bytes: number; readonly byKind: Readonly<Record<RetainedKind, number>>; readonly runs: readonly string[] };
  readonly kept: { readonly objects: number; readonly bytes: number; readonly byKind: Readonly<Record<RetainedKind, number>> };
}

export function summarizeRetention(decision: RetentionDecision, retentionDays: number): RetentionSummary {
  const tally = (items: readonly RetentionItem[]) => {
    const byKind: Record<RetainedKind, number> = { model: 0, 'run-data': 0, 'history-manifest': 0 };
    for (const item of items) byKind[item.kind] += 1;
    return { objects: items.length, bytes: items.reduce((sum, item) => sum + item.size, 0), byKind };
  };
  return {
    cutoffRunId: decision.cutoffRunId,
    retentionDays,
    removed: { ...tally(decision.remove), runs: [...new Set(decision.remove.map((item) => item.runId))].sort() },
    kept: tally(decision.keep),
  };
}
