import test from 'ava';
import { JobFailedError, PROGRESS_REFRESH_MS, isJobNotFound, runJobStep, type JobAdapter, type JobStatusSnapshot } from '../../../runtime/pipeline/jobs.js';
import type { Clock } from '../../../runtime/pipeline/waiter.js';

/**
 * The resume rules of one job step, over a scripted job table (the SageMaker wire is exercised by
 * the end-to-end test against local mode): each name's scripted statuses are returned in turn.
 */
function jobTable(initial: Record<string, string[]>) {
  const scripts = new Map(Object.entries(initial).map(([name, statuses]) => [name, [...statuses]]));
  const created: string[] = [];
  const adapter: JobAdapter = {
    kind: 'training',
    request: (attempt) => {
      const name = attempt === 1 ? 'fc-r-train' : `fc-r-train-r${attempt}`;
      return {
        name,
        create: async () => {
          if (scripts.has(name)) throw Object.assign(new Error('exists'), { name: 'ResourceInUse' });
          created.push(name);
          scripts.set(name, ['InProgress', 'InProgress', 'Completed']);
        },
      };
    },
    describe: async (name): Promise<JobStatusSnapshot | undefined> => {
      const script = scripts.get(name);
      if (script === undefined) return undefined;
      const status = script.length > 1 ? (script.shift() as string) : (script[0] as string);
      return { jobName: name, status, terminal: ['Completed', 'Failed', 'Stopped'].includes(status), failureReason: status === 'Failed' ? 'AlgorithmError: killed' : undefined };
    },
  };
  return { adapter, created };
}

const clock: Clock = { now: () => 0, sleep: async () => {} };
const options = { clock, timeoutMs: 1000 };

test('a new run creates its job and waits for it', async (t) => {
  const { adapter, created } = jobTable({});
  const result = await runJobStep(adapter, options);
  t.deepEqual(created, ['fc-r-train']);
  t.like(result, { jobName: 'fc-r-train', attempt: 1, outcome: 'created', status: 'Completed' });
});

test('a completed job is skipped and one in progress is waited on, never duplicated', async (t) => {
  const done = jobTable({ 'fc-r-train': ['Completed'] });
  t.like(await runJobStep(done.adapter, options), { outcome: 'skipped', jobName: 'fc-r-train' });
  t.deepEqual(done.created, []);
  const running = jobTable({ 'fc-r-train': ['InProgress', 'InProgress', 'Completed'] });
  const statuses: string[] = [];
  t.like(await runJobStep(running.adapter, { ...options, onStatus: (s) => statuses.push(s.status) }), { outcome: 'resumed' });
  t.deepEqual(running.created, []);
  t.deepEqual(statuses, ['InProgress', 'Completed']);
});

test('failed attempts are retried under the next name and recorded', async (t) => {
  const { adapter, created } = jobTable({ 'fc-r-train': ['Failed'], 'fc-r-train-r2': ['Stopped'] });
  const result = await runJobStep(adapter, options);
  t.deepEqual(created, ['fc-r-train-r3']);
  t.like(result, { jobName: 'fc-r-train-r3', attempt: 3, outcome: 'retried' });
  t.deepEqual(result.previousFailures.map((f) => [f.jobName, f.status]), [
    ['fc-r-train', 'Failed'],
    ['fc-r-train-r2', 'Stopped'],
  ]);
});

test('a job that fails while waited on ends the step with its reason', async (t) => {
  const { adapter } = jobTable({ 'fc-r-train': ['InProgress', 'Failed'] });
  const error = await t.throwsAsync(runJobStep(adapter, options), { instanceOf: JobFailedError });
  t.regex(error.message, /training job fc-r-train ended Failed: AlgorithmError: killed.*rerun the same run/);
});

test('SageMaker reports a missing job as a ValidationException', (t) => {
  t.true(isJobNotFound(Object.assign(new Error('Requested resource not found.'), { name: 'ValidationException' })));
  t.true(isJobNotFound(Object.assign(new Error('Could not find job'), { name: 'ResourceNotFound' })));
  t.false(isJobNotFound(Object.assign(new Error('1 validation error detected'), { name: 'ValidationException' })));
});

test("a running job's extra progress is worked out at most every PROGRESS_REFRESH_MS, not at every poll", async (t) => {
  const { adapter } = jobTable({ 'fc-r-train': [...Array.from({ length: 20 }, () => 'InProgress'), 'Completed'] });
  let now = 0;
  const steppingClock: Clock = { now: () => now, sleep: async (ms) => void (now += ms) };
  let counts = 0;
  const reported: (string | undefined)[] = [];
  const withProgress: JobAdapter = { ...adapter, progress: async () => `${++counts} counted` };
  // Polls once a second, 19 times while the job runs (0 … 18 s): counted at 0 s, then at the first poll PROGRESS_REFRESH_MS (2.5 s) after each count.
  await runJobStep(withProgress, { clock: steppingClock, timeoutMs: 60_000, backoff: { minDelayMs: 1000, maxDelayMs: 1000 }, onStatus: (s) => reported.push(s.progress) });
  t.is(PROGRESS_REFRESH_MS, 2500);
  t.is(counts, 7);
  // The waiter reports a change of progress at most every 5 s (0, 5, 10, 15 s), then the completion (no progress asked).
  t.deepEqual(reported, ['1 counted', '2 counted', '4 counted', '6 counted', undefined]);
});
