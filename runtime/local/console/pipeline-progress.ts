import { startProgressBar } from '../../console/progress-bar.js';
import type { ProgressBar } from '../../console/progress-bar.js';
import { formatPipelineEvent } from '../../pipeline/run-pipeline.js';
import type { PipelineEvent } from '../../pipeline/run-pipeline.js';

/**
 * The pipeline's progress on `npm start`'s console: a progress bar while a step runs and one line
 * when it ends. Any step gets a bar (steps added later included); it counts when the step reports
 * counts — a job's `N/M models` progress, or an event carrying `total` with `checked` or `done` —
 * and otherwise shows the step's status and elapsed time. Events it does not know are printed as
 * the pipeline formats them.
 */
export interface PipelineProgress {
  onEvent(event: PipelineEvent): void;
  /** Stops a bar still running (a failed run). */
  stop(): void;
}

export function createPipelineProgress(options: {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  readonly plainIntervalMs?: number;
}): PipelineProgress {
  let bar: ProgressBar | undefined;
  const line = (text: string) => options.stream.write(`${text}\n`);
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case 'step-started':
          stopBar();
          bar = startProgressBar({
            stream: options.stream,
            label: event.step,
            unit: event.step === 'processing' ? 'files' : 'models',
            ...(options.plainIntervalMs !== undefined ? { plainIntervalMs: options.plainIntervalMs } : {}),
          });
          return;
        case 'job-outcome':
          bar?.update({ status: `${event.jobName} ${event.outcome}` });
          return;
        case 'job-status': {
          const s = event.snapshot;
          bar?.update({ ...countOf(s.progress), status: s.secondaryStatus ?? s.status });
          return;
        }
        case 'step-finished':
          stopBar();
          line(formatPipelineEvent(event));
          return;
        case 'run-finished':
          stopBar();
          line(formatPipelineEvent(event));
          return;
        default: {
          const counts = eventCounts(event);
          if (counts && bar) bar.update(counts);
          else if (!counts) line(formatPipelineEvent(event));
        }
      }
    },
    stop: stopBar,
  };
}

/** `12/1000 models` → done 12 of 1000. */
function countOf(progress: string | undefined): { done?: number; total?: number } {
  const match = /^(\d+)\/(\d+)\b/.exec(progress ?? '');
  return match ? { done: Number(match[1]), total: Number(match[2]) } : {};
}

/** Counts carried by a progress event (`validation-progress` and any like it). */
function eventCounts(event: PipelineEvent): { done: number; total: number } | undefined {
  const fields = event as unknown as Record<string, unknown>;
  const done = fields.checked ?? fields.done;
  return typeof done === 'number' && typeof fields.total === 'number' ? { done, total: fields.total } : undefined;
}
