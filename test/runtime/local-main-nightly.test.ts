import test from 'ava';
import { checkNightlyCron, NightlyScheduleError, scheduleNightly } from '../../runtime/local/nightly.js';

test('the nightly schedule runs the pipeline for each scheduled minute, never overlapping, and stops', async (t) => {
  const runs: string[] = [];
  const lines: string[] = [];
  let active = 0;
  let maxActive = 0;
  let fired!: () => void;
  const twoRuns = new Promise<void>((resolve) => (fired = resolve));
  const schedule = scheduleNightly({
    cron: '* * * * * *',
    timezone: 'Europe/Paris',
    log: (line) => lines.push(line),
    run: async (scheduledTime) => {
      active++;
      maxActive = Math.max(maxActive, active);
      // Longer than the one-second period: the next firing must not start a second run meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      active--;
      runs.push(scheduledTime);
      if (runs.length === 1) throw new Error('processing job failed');
      if (runs.length === 2) fired();
    },
  });
  t.teardown(() => schedule.stop());
  t.true((schedule.nextRun()?.getTime() ?? 0) > Date.now() - 1000);
  await twoRuns;
  await schedule.stop();
  const settled = runs.length;
  await new Promise((resolve) => setTimeout(resolve, 1200));
  t.is(runs.length, settled, 'no run after stop');
  t.is(maxActive, 1);
  for (const time of runs) t.regex(time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/, 'scheduled times are whole minutes');
  t.true(lines.some((line) => /nightly schedule: run for .* failed: processing job failed/.test(line)), 'a failed night is reported and the schedule goes on');
});

test('a bad cron expression names the option and what is expected', (t) => {
  t.throws(() => checkNightlyCron('every night'), { instanceOf: NightlyScheduleError, message: /\[--schedule\] "every night" is not a cron expression .*"0 2 \* \* \*" or "off"/ });
  t.notThrows(() => checkNightlyCron('0 2 * * *'));
});
