import test from 'ava';
import type { CustomerIndexEntry } from '../../../containers/processing/customer-index.js';
import { MANIFEST_FORMAT_VERSION, type Manifest, type ManifestEntry } from '../../../runtime/pipeline/manifest.js';
import { DAY_MS, parseStoredPlan, planTraining, storedPlan, trainingSettingsHash } from '../../../runtime/pipeline/training-plan.js';

const NEWEST = Date.parse('2026-11-26T00:00:00Z');
const hash = (c: string) => c.repeat(64);
const settings = trainingSettingsHash({ holdout_days: '14' });

function index(id: number, sha: string, lastMs = NEWEST): CustomerIndexEntry {
  return { customerId: id, rows: 100, firstMs: lastMs - 99 * DAY_MS, lastMs, sha256: sha };
}

function entry(runId: string, sha: string, settingsHash: string | null = settings): ManifestEntry {
  return { targetModel: `${runId}/x.tar.gz`, runId, trainedAt: '2026-11-25T02:00:00Z', metrics: {}, sourceSha256: sha, ...(settingsHash ? { settingsHash } : {}) };
}

function manifest(models: Record<string, ManifestEntry>): Manifest {
  return { formatVersion: MANIFEST_FORMAT_VERSION, runId: '20261125-0200', publishedAt: '2026-11-25T03:00:00Z', endpointName: 'e', models };
}

test('only customers whose data or settings changed are trained; the others carry over as unchanged', (t) => {
  const current = manifest({ '1': entry('r1', hash('a')), '2': entry('r1', hash('b')), '3': entry('r1', hash('c'), null) });
  const plan = planTraining({
    index: [index(1, hash('a')), index(2, hash('e')), index(3, hash('c')), index(4, hash('d'))],
    current,
    settingsHash: settings,
    fullRetrain: false,
    dropAfterDays: 90,
  });
  t.deepEqual(plan.train, ['2', '3', '4']);
  t.deepEqual(plan.reasons, { new: 1, data: 1, settings: 1, forced: 0 });
  t.deepEqual(Object.keys(plan.unchanged), ['1']);
  t.is(plan.unchanged['1'], current.models['1']);
  t.deepEqual(plan.dropped, []);
});

test('a settings change, or a full retrain, retrains everyone; job-only hyperparameters do not count', (t) => {
  const current = manifest({ '1': entry('r1', hash('a')), '2': entry('r1', hash('b')) });
  const base = { index: [index(1, hash('a')), index(2, hash('b'))], current, dropAfterDays: 90 };
  t.deepEqual(planTraining({ ...base, settingsHash: trainingSettingsHash({ holdout_days: '28' }), fullRetrain: false }).train, ['1', '2']);
  t.deepEqual(planTraining({ ...base, settingsHash: settings, fullRetrain: true }).reasons, { new: 0, data: 0, settings: 0, forced: 2 });
  t.is(trainingSettingsHash({ holdout_days: '14', workers: '8', max_failed_fraction: '0.5' }), settings);
  t.is(trainingSettingsHash({ holdout_days: '14' }), trainingSettingsHash({ holdout_days: '14', run_id: 'x' }));
});

test('customers with no row within drop_after_days of the newest row, or no row at all, leave; inactive newcomers are ignored', (t) => {
  const current = manifest({ '1': entry('r1', hash('a')), '2': entry('r1', hash('b')), '9': entry('r1', hash('f')) });
  const plan = planTraining({
    index: [index(1, hash('a')), index(2, hash('b'), NEWEST - 91 * DAY_MS), index(3, hash('c'), NEWEST - 90 * DAY_MS), index(4, hash('d'), NEWEST - 200 * DAY_MS)],
    current,
    settingsHash: settings,
    fullRetrain: false,
    dropAfterDays: 90,
  });
  t.deepEqual(plan.train, ['3']);
  t.deepEqual(
    plan.dropped.map((d) => [d.customerId, d.decision, d.code]),
    [
      ['2', 'dropped', 'E_CUSTOMER_INACTIVE'],
      ['9', 'dropped', 'E_CUSTOMER_NO_DATA'],
    ],
  );
  t.regex(plan.dropped[0]!.reason!, /more than 90 days before the newest row of the data \(2026-11-26T00:00:00.000Z\)/);
  t.is(plan.inactive, 1);
  t.is(plan.newestRow, '2026-11-26T00:00:00.000Z');
});

test('a stored plan reads back as written; a foreign file is planned again', (t) => {
  const plan = planTraining({ index: [index(1, hash('a')), index(2, hash('b'))], current: manifest({ '1': entry('r1', hash('a')) }), settingsHash: settings, fullRetrain: false, dropAfterDays: 90 });
  const stored = storedPlan(plan, settings, false);
  t.deepEqual(parseStoredPlan(JSON.stringify(stored), 'plan.json'), stored);
  t.is(parseStoredPlan('{"format":"other"}', 'plan.json'), undefined);
  t.throws(() => parseStoredPlan('{', 'plan.json'), { message: /plan\.json is not valid JSON/ });
});
