import test from 'ava';
import { DateTime } from 'luxon';
import { SAGEMAKER_NAME_PATTERN as JOB_NAME_PATTERN } from '../../../runtime/config/sagemaker-limits.js';
import { deriveRunId, jobName, jobNamePatterns, JOB_STEPS } from '../../../runtime/pipeline/run-id.js';

test('the run id is the scheduled time in the schedule time zone', (t) => {
  const scheduled = DateTime.fromISO('2026-11-26T01:00:00Z', { setZone: true });
  t.is(deriveRunId(scheduled, 'UTC'), '20261126-0100');
  t.is(deriveRunId(scheduled, 'Europe/Paris'), '20261126-0200');
  t.is(deriveRunId(scheduled, 'America/New_York'), '20261125-2000');
});

test('a rerun of the same night gets the same id; without a scheduled time it is now', (t) => {
  const scheduled = DateTime.fromISO('2026-11-26T02:00:00+01:00', { setZone: true });
  t.is(deriveRunId(scheduled, 'Europe/Paris'), deriveRunId(DateTime.fromISO('2026-11-26T01:00:00Z'), 'Europe/Paris'));
  const now = () => DateTime.fromISO('2026-03-29T01:30:00Z');
  t.is(deriveRunId(undefined, 'Europe/Paris', now), '20260329-0330');
});

test('job names derive from the run id and retries add -r<N>', (t) => {
  t.is(jobName('forecast', '20261126-0200', 'process', 1), 'forecast-20261126-0200-process');
  t.is(jobName('forecast', '20261126-0200', 'train', 2), 'forecast-20261126-0200-train-r2');
  t.throws(() => jobName('forecast', '20261126-0200', 'train', 0), { message: /attempt is 0/ });
});

test('long names keep the prefix, hash the run id and stay within SageMaker limits', (t) => {
  const prefix = 'p'.repeat(36);
  const name = jobName(prefix, '20261126-0200-extra-long-custom-run-id', 'process', 12);
  t.true(name.startsWith(`${prefix}-`));
  t.regex(name, JOB_NAME_PATTERN);
  t.true(name.length <= 63);
  t.is(name, jobName(prefix, '20261126-0200-extra-long-custom-run-id', 'process', 12));
  t.not(name, jobName(prefix, '20261127-0200-extra-long-custom-run-id', 'process', 12));
  t.throws(() => jobName('bad_prefix', '20261126-0200', 'train', 1), { message: /does not match SageMaker/ });
});

/** IAM's ARN wildcards: `?` one character, `*` any run (none here). */
const matchesAny = (patterns: readonly string[], name: string) =>
  patterns.some((pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\?/g, '.').replace(/\*/g, '.*')}$`).test(name));

test('job name patterns match every name of the step and attempt, and no sibling stack extending the prefix', (t) => {
  const runId = '20261126-0200';
  for (const step of JOB_STEPS) {
    const patterns = jobNamePatterns('forecast-fleet-dev', step, 20);
    t.false(patterns.some((pattern) => pattern.includes('*')));
    for (let attempt = 1; attempt <= 20; attempt += 1) t.true(matchesAny(patterns, jobName('forecast-fleet-dev', runId, step, attempt)), `${step} attempt ${attempt}`);
    for (const sibling of ['forecast-fleet-dev-2', 'forecast-fleet-dev2', 'forecast-fleet-dev-12345678-1234', 'forecast-fleet-dev-a', 'forecast-fleet-dev-abc']) {
      for (let attempt = 1; attempt <= 20; attempt += 1) t.false(matchesAny(patterns, jobName(sibling, runId, step, attempt)), `${sibling} ${step} attempt ${attempt}`);
    }
    t.false(matchesAny(patterns, jobName('forecast-fleet-dev', runId, step === 'train' ? 'process' : 'train', 1)), 'the other step');
  }
});

test('a prefix too long to keep the run id in job names is refused (IAM patterns could not match)', (t) => {
  t.throws(() => jobNamePatterns('p'.repeat(40), 'process', 20), { message: /too long for run ids/ });
});
