import test from 'ava';
import { WaitTimeoutError, backoffDelay, waitUntilTerminal, type Clock, type JobSnapshot } from '../../../runtime/pipeline/waiter.js';

function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

test('delays grow exponentially, are capped and jittered', (t) => {
  const options = { minDelayMs: 1000, maxDelayMs: 8000 };
  t.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, options, () => 1)), [1000, 2000, 4000, 8000, 8000, 8000]);
  t.deepEqual([0, 1, 2, 3].map((a) => backoffDelay(a, options, () => 0)), [1000, 1000, 2000, 4000]);
  const jittered = new Set(Array.from({ length: 20 }, () => backoffDelay(3, options)));
  t.true(jittered.size > 1);
  for (const delay of jittered) t.true(delay >= 4000 && delay <= 8000);
});

test('reports each change once and returns the terminal snapshot', async (t) => {
  const states: JobSnapshot[] = [
    { status: 'InProgress', secondaryStatus: 'Starting', terminal: false },
    { status: 'InProgress', secondaryStatus: 'Starting', terminal: false },
    { status: 'InProgress', secondaryStatus: 'Training', message: '10 models', terminal: false },
    { status: 'InProgress', secondaryStatus: 'Training', message: '20 models', terminal: false },
    { status: 'Completed', secondaryStatus: 'Completed', terminal: true },
  ];
  const clock = fakeClock();
  const seen: JobSnapshot[] = [];
  let i = 0;
  const result = await waitUntilTerminal('job', async () => states[Math.min(i++, states.length - 1)]!, {
    clock,
    timeoutMs: 60_000,
    backoff: { minDelayMs: 100, maxDelayMs: 400 },
    random: () => 1,
    onChange: (s) => seen.push(s),
  });
  t.is(result.status, 'Completed');
  t.deepEqual(seen.map((s) => s.message ?? s.secondaryStatus), ['Starting', '10 models', '20 models', 'Completed']);
  t.deepEqual(clock.slept, [100, 200, 400, 400]);
});

test('progress alone is reported at most every progressIntervalMs; status changes always', async (t) => {
  const clock = fakeClock();
  let polls = 0;
  const seen: string[] = [];
  await waitUntilTerminal(
    'job',
    async () => {
      polls += 1;
      return polls < 12
        ? { status: 'InProgress', secondaryStatus: polls < 6 ? 'Starting' : 'Training', progress: `${polls} models`, terminal: false }
        : { status: 'Completed', progress: `${polls} models`, terminal: true };
    },
    { clock, timeoutMs: 60_000, backoff: { minDelayMs: 1000, maxDelayMs: 1000 }, progressIntervalMs: 3000, onChange: (s) => seen.push(`${s.secondaryStatus ?? s.status} ${s.progress}`) },
  );
  t.deepEqual(seen, ['Starting 1 models', 'Starting 4 models', 'Training 6 models', 'Training 9 models', 'Completed 12 models']);
});

test('times out with the last status and a way forward', async (t) => {
  const clock = fakeClock();
  const error = await t.throwsAsync(
    waitUntilTerminal('training job forecast-x-train', async () => ({ status: 'InProgress', secondaryStatus: 'Training', terminal: false }), {
      clock,
      timeoutMs: 5000,
      backoff: { minDelayMs: 1000, maxDelayMs: 4000 },
      random: () => 1,
    }),
    { instanceOf: WaitTimeoutError },
  );
  t.regex(error.message, /training job forecast-x-train after 5 s; last status InProgress\/Training.*rerun the same run/);
  t.is(clock.now(), 5000);
});
