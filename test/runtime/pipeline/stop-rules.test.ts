import test from 'ava';
import { DEFAULT_PUBLISHING_RULES } from '../../../runtime/config/publishing-rules.js';
import type { CustomerOutcome } from '../../../runtime/pipeline/decisions.js';
import type { Manifest } from '../../../runtime/pipeline/manifest.js';
import { checkDecisions, checkQuarantine, staleModels, STOP_CODES } from '../../../runtime/pipeline/stop-rules.js';

const rules = DEFAULT_PUBLISHING_RULES;

function outcomes(accepted: number, rejected: number, failed: number): CustomerOutcome[] {
  let id = 0;
  const make = (decision: CustomerOutcome['decision'], n: number) => Array.from({ length: n }, () => ({ customerId: String(id++), decision }));
  return [...make('accepted', accepted), ...make('rejected', rejected), ...make('failed', failed)];
}

test('quarantine: the share of quarantined rows is reported, and over the limit it stops the run', (t) => {
  t.deepEqual(checkQuarantine({ read: 1000, quarantined: 50 }, rules), { quarantine: { rows: 50, totalRows: 1000, share: 0.05 } });
  const over = checkQuarantine({ read: 1000, quarantined: 51 }, rules);
  t.is(over.stop?.code, STOP_CODES.quarantined);
  t.regex(over.stop?.message ?? '', /quarantined 51 of 1000 raw rows \(5\.1 %\), more than the allowed 5 %; nothing was trained or published/);
});

test('decisions: rejected plus failed over the share stops the run; no valid model at all stops it', (t) => {
  t.is(checkDecisions(outcomes(8, 1, 1), rules), undefined);
  const over = checkDecisions(outcomes(7, 2, 1), rules);
  t.is(over?.code, STOP_CODES.rejected);
  t.regex(over?.message ?? '', /2 rejected and 1 failed of 10 customers \(30 %\), more than the allowed 20 %/);
  t.is(checkDecisions(outcomes(0, 0, 3), { maxRejectedFraction: 1 })?.code, STOP_CODES.noValidModels);
  t.is(checkDecisions(outcomes(0, 3, 0), { maxRejectedFraction: 1 }), undefined);
  t.is(checkDecisions([{ customerId: '1', decision: 'unchanged' }], rules), undefined);
  // Incremental nights: the share is of every customer served, unchanged ones included.
  const unchanged = Array.from({ length: 998 }, (_, i): CustomerOutcome => ({ customerId: `u${i}`, decision: 'unchanged' }));
  t.is(checkDecisions([...unchanged, ...outcomes(0, 2, 0)], rules), undefined);
  t.is(checkDecisions([...unchanged, ...outcomes(0, 0, 2)], rules), undefined);
  t.regex(checkDecisions([...unchanged.slice(0, 3), ...outcomes(0, 2, 0)], rules)?.message ?? '', /2 rejected and 0 failed of 5 customers \(40 %\)/);
});

/** A manifest published by run 20261127-0200 serving each customer the model of the given run. */
function manifestServing(models: readonly (readonly [customerId: string, runId: string])[]): Manifest {
  return {
    formatVersion: 1,
    runId: '20261127-0200',
    publishedAt: '2026-11-27T03:00:00Z',
    endpointName: 'e',
    models: Object.fromEntries(models.map(([id, runId]) => [id, { targetModel: `${runId}/${id}.tar.gz`, runId, trainedAt: '2026-11-01T00:00:00Z', metrics: {} }])),
  };
}

test('stale models: ages in nights from the run ids, listed past the limit, and a share over the threshold stops', (t) => {
  const manifest = manifestServing([
    ['1', '20261127-0200'],
    ['2', '20261120-0200'],
    ['3', '20261119-0200'],
  ]);
  const report = staleModels(manifest, '20261127-0200', 'Europe/Paris', { maxModelAgeDays: 7, maxStaleFraction: 0.5 });
  t.deepEqual(report.customers, [{ customerId: '3', runId: '20261119-0200', ageDays: 8 }]);
  t.is(report.oldestModelAgeDays, 8);
  t.is(report.stop, undefined);
  const strict = staleModels(manifest, '20261127-0200', 'Europe/Paris', { maxModelAgeDays: 6, maxStaleFraction: 0.5 });
  t.is(strict.customers.length, 2);
  t.is(strict.stop?.code, STOP_CODES.stale);
  t.regex(strict.stop?.message ?? '', /2 of 3 customers \(66\.7 %\) are served by a model older than 6 days/);
});

test('stale: a customer whose model was carried over because its data did not change is never stale', (t) => {
  const manifest = manifestServing([
    ['1', '20261101-0200'],
    ['2', '20261101-0200'],
  ]);
  const report = staleModels(manifest, '20261127-0200', 'Europe/Paris', { maxModelAgeDays: 7, maxStaleFraction: 0.4 }, new Set(['2']));
  t.deepEqual(report.customers, [{ customerId: '1', runId: '20261101-0200', ageDays: 26 }]);
  t.is(report.oldestModelAgeDays, 26, 'the oldest served model is still reported');
  t.is(report.stop?.code, STOP_CODES.stale, '1 of 2 is over the 40 % allowed');
});
