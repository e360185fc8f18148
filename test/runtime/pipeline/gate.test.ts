import test from 'ava';
import { DEFAULT_PUBLISHING_RULES } from '../../../runtime/config/publishing-rules.js';
import { GATE_CODES, gateRun, judgeChallenger, type ChallengerEvidence, type GateCode } from '../../../runtime/pipeline/gate.js';
import type { Manifest, ManifestEntry } from '../../../runtime/pipeline/manifest.js';

const settings = DEFAULT_PUBLISHING_RULES;
/** A customer around 800 with a range of 600-1000, forecast inside it, 20 % better than naive. */
const sane: ChallengerEvidence = { mae: 16, seasonalNaiveMae: 20, holdoutLevel: 800, historyMin: 600, historyMax: 1000, forecast: [790, 800, 810] };

function entry(runId: string, mae: number | null): ManifestEntry {
  return { targetModel: `${runId}/1.tar.gz`, runId, trainedAt: '2026-11-26T02:10:00Z', metrics: { mae } };
}

test('a sane challenger better than the baseline is accepted without a champion and against an equal one', (t) => {
  t.deepEqual(judgeChallenger(sane, undefined, settings), { accepted: true });
  t.deepEqual(judgeChallenger(sane, entry('20261126-0200', 16), settings), { accepted: true });
});

test('each rule rejects with its own code, in order', (t) => {
  const cases: [Partial<ChallengerEvidence>, ManifestEntry | undefined, GateCode, RegExp][] = [
    [{ mae: Number.NaN }, undefined, GATE_CODES.errorNotFinite, /holdout MAE is NaN/],
    [{ forecast: [800, Number.POSITIVE_INFINITY] }, undefined, GATE_CODES.forecastNotFinite, /day 2 is Infinity/],
    [{ historyMin: 0, forecast: [10, -20] }, undefined, GATE_CODES.forecastNegative, /falls to -20 though the history never goes below 0/],
    // Range 400, band 1 range + 1 % of 800 = 408: the limit is 1408.
    [{ forecast: [800, 1409] }, undefined, GATE_CODES.forecastOutOfBand, /outside the history's \[600, 1000\] widened by 1 ranges to \[192, 1408\]/],
    // Naive 20 × 1.5 + 8 = 38.
    [{ mae: 38.5 }, undefined, GATE_CODES.baseline, /holdout MAE 38.5 is worse than the seasonal-naive 20 beyond the tolerance of 50 % \(limit 38\)/],
    // Champion 10 × 1.5 + 8 = 23.
    [{ mae: 23.5 }, entry('20261126-0200', 10), GATE_CODES.champion, /served model's \(run 20261126-0200\) 10 beyond the tolerance of 50 % \(limit 23\)/],
  ];
  for (const [change, champion, code, reason] of cases) {
    const verdict = judgeChallenger({ ...sane, ...change }, champion, settings);
    t.false(verdict.accepted, JSON.stringify(change));
    if (!verdict.accepted) {
      t.is(verdict.code, code);
      t.regex(verdict.reason, reason);
    }
  }
});

test('limits are inclusive, and a history with negative values may forecast below zero', (t) => {
  t.true(judgeChallenger({ ...sane, mae: 38 }, undefined, settings).accepted);
  t.true(judgeChallenger({ ...sane, mae: 23 }, entry('20261126-0200', 10), settings).accepted);
  t.true(judgeChallenger({ ...sane, historyMin: -50, forecast: [-40] }, undefined, settings).accepted);
});

test('the error floor keeps near-exact series from being judged on rounding', (t) => {
  const exact = { ...sane, mae: 0.02, seasonalNaiveMae: 0.01 };
  t.true(judgeChallenger(exact, entry('20261126-0200', 0.001), settings).accepted);
  t.false(judgeChallenger(exact, entry('20261126-0200', 0.001), { ...settings, gateErrorFloor: 0 }).accepted);
});

test('a champion without a recorded error is not compared', (t) => {
  t.true(judgeChallenger({ ...sane, mae: 35 }, entry('20261126-0200', null), settings).accepted);
});

test('gateRun accepts, rejects and fails per customer; rejected and failed customers keep the served run', (t) => {
  const current: Manifest = {
    formatVersion: 1,
    runId: '20261126-0200',
    publishedAt: '2026-11-26T03:00:00Z',
    endpointName: 'e',
    models: { '1': entry('20261126-0200', 16), '2': entry('20261126-0200', 16), '3': entry('20261125-0200', 16) },
  };
  const challenger = (id: string) => ({ ...entry('20261127-0200', 16), targetModel: `20261127-0200/${id}.tar.gz` });
  const result = gateRun({
    runId: '20261127-0200',
    challengers: { '1': challenger('1'), '2': challenger('2'), '10': challenger('10') },
    evidence: { '1': sane, '2': { ...sane, mae: 100 }, '10': sane },
    failures: [{ customerId: '3', code: 'E_MODEL_MISSING', reason: 'no model' }],
    current,
    settings,
  });
  t.deepEqual(Object.keys(result.accepted).sort(), ['1', '10']);
  t.deepEqual(
    result.outcomes.map((o) => [o.customerId, o.decision, o.code, o.servedRunId]),
    [
      ['1', 'accepted', undefined, '20261127-0200'],
      ['2', 'rejected', GATE_CODES.baseline, '20261126-0200'],
      ['3', 'failed', 'E_MODEL_MISSING', '20261125-0200'],
      ['10', 'accepted', undefined, '20261127-0200'],
    ],
  );
});
