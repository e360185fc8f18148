import cron from 'node-cron';

/**
 * Local mode's nightly schedule: what EventBridge Scheduler does on AWS, with node-cron. Each
 * firing passes the time it was scheduled for, so the run id derives from the schedule, as on AWS
 * (`<aws.scheduler.scheduled-time>`), and runs never overlap.
 */

/** 02:00 every night, EventBridge's `cron(0 2 * * ? *)` in node-cron's syntax. */
export const DEFAULT_NIGHTLY_CRON = '0 2 * * *';

export interface NightlySchedule {
  /** The next time the pipeline runs. */
  nextRun(): Date | null;
  stop(): Promise<void>;
}

export class NightlyScheduleError extends Error {
  override readonly name = 'NightlyScheduleError';
}

/** Throws a `NightlyScheduleError` naming the option unless `expression` is a node-cron expression. */
export function checkNightlyCron(expression: string): void {
  const check = cron.validateDetailed(expression);
  if (!check.valid) {
    const problems = check.errors.map((e) => e.message).join('; ');
    throw new NightlyScheduleError(`[--schedule] ${JSON.stringify(expression)} is not a cron expression (${problems}); expected e.g. "${DEFAULT_NIGHTLY_CRON}" or "off"`);
  }
}

export function scheduleNightly(options: {
  readonly cron: string;
  readonly timezone: string;
  /** One pipeline run for the given scheduled time (ISO, whole minute). */
  readonly run: (scheduledTime: string) => Promise<void>;
  readonly log: (line: string) => void;
}): NightlySchedule {
  checkNightlyCron(options.cron);
  const task = cron.schedule(
    options.cron,
    async ({ date }) => {
      const scheduledTime = new Date(Math.floor(date.getTime() / 60_000) * 60_000).toISOString();
      options.log(`nightly schedule: run for ${scheduledTime}`);
      try {
        await options.run(scheduledTime);
      } catch (error) {
        // A failed night is reported and the schedule goes on, as EventBridge would start the next one.
        options.log(`nightly schedule: run for ${scheduledTime} failed: ${(error as Error).message}`);
      }
    },
    {
      name: 'forecast-nightly',
      timezone: options.timezone,
      noOverlap: true,
      logger: {
        info: () => {},
        debug: () => {},
        warn: (message) => options.log(`nightly schedule: ${message}`),
        error: (message) => options.log(`nightly schedule: ${message instanceof Error ? message.message : message}`),
      },
    },
  );
  return {
    nextRun: () => task.getNextRun(),
    stop: async () => {
      await task.destroy();
    },
  };
}
