import test from 'ava';
import {
  CURRENT_MANIFEST_KEY,
  historyManifestKey,
  mergeManifest,
  parseManifest,
  targetModelName,
  type Manifest,
} from '../../../runtime/pipeline/manifest.js';

const previous: Manifest = {
  formatVersion: 1,
  runId: '20261125-0200',
  publishedAt: '2026-11-25T02:40:00.000Z',
  endpointName: 'forecast-local',
  models: {
    '1': { targetModel: '20261125-0200/1.tar.gz', runId: '20261125-0200', trainedAt: '2026-11-25T02:20:00.000Z', metrics: { mae: 1.5 } },
    '2': { targetModel: '20261125-0200/2.tar.gz', runId: '20261125-0200', trainedAt: '2026-11-25T02:20:00.000Z', metrics: { mae: 2.5, intervalCoverage: null } },
  },
};

test('keys follow the bucket layout', (t) => {
  t.is(CURRENT_MANIFEST_KEY, 'manifests/current.json');
  t.is(historyManifestKey('20261126-0200'), 'manifests/history/20261126-0200.json');
  t.is(targetModelName('20261126-0200', '42'), '20261126-0200/42.tar.gz');
});

test('a manifest survives a JSON round trip', (t) => {
  t.deepEqual(parseManifest(JSON.stringify(previous)), previous);
});

test('parse errors name the offending field', (t) => {
  t.throws(() => parseManifest('{'), { message: /not valid JSON/ });
  t.throws(() => parseManifest({ ...previous, formatVersion: 2 }), { message: /\[formatVersion\] is 2/ });
  const broken = { ...previous, models: { '7': { ...previous.models['1'], targetModel: '' } } };
  t.throws(() => parseManifest(broken), { message: /\[models\.7\]\.targetModel is ""; expected a non-empty string/ });
  const badMetric = { ...previous, models: { '7': { ...previous.models['1'], metrics: { mae: 'x' } } } };
  t.throws(() => parseManifest(badMetric), { message: /metrics\.mae is "x"; expected a finite number or null/ });
});

test('merging keeps the current entry of a customer whose new model is missing', (t) => {
  const merged = mergeManifest({
    previous,
    runId: '20261126-0200',
    publishedAt: '2026-11-26T02:40:00.000Z',
    endpointName: 'forecast-local',
    fresh: {
      '2': { targetModel: '20261126-0200/2.tar.gz', runId: '20261126-0200', trainedAt: '2026-11-26T02:20:00.000Z', metrics: { mae: 2 } },
      '10': { targetModel: '20261126-0200/10.tar.gz', runId: '20261126-0200', trainedAt: '2026-11-26T02:20:00.000Z', metrics: { mae: 3 } },
    },
  });
  t.is(merged.runId, '20261126-0200');
  t.deepEqual(Object.keys(merged.models), ['1', '2', '10']);
  t.is(merged.models['1']?.targetModel, '20261125-0200/1.tar.gz');
  t.is(merged.models['2']?.targetModel, '20261126-0200/2.tar.gz');
  t.is(merged.models['10']?.runId, '20261126-0200');
});

test('the first run merges into nothing', (t) => {
  const merged = mergeManifest({ previous: undefined, runId: 'r', publishedAt: 'p', endpointName: 'e', fresh: {} });
  t.deepEqual(merged.models, {});
});
