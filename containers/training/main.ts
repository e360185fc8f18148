import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sagemakerPaths } from '../shared/sagemaker-paths.js';
import { HyperparameterError } from './hyperparameters.js';
import { runTrainingJob, TrainingSetupError } from './job.js';

/**
 * `train`: SageMaker's training entrypoint. Exit 0 when the host's shard trained within the
 * failure threshold; otherwise the reason goes to `output/failure` (SageMaker's FailureReason)
 * and the exit code is 1. SIGTERM (StopTrainingJob, spot interruption) stops taking customers,
 * lets in-flight ones finish briefly, writes the summary and exits 143.
 */
export async function main(args: readonly string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write(`train takes no arguments (got ${args.join(' ')}); settings come from input/config/hyperparameters.json\n`);
    return 2;
  }
  const paths = sagemakerPaths();
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`[train] ${signal}: finishing the customers in flight, taking no new ones\n`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  const fail = async (reason: string): Promise<number> => {
    process.stderr.write(`[train] ${reason}\n`);
    await mkdir(path.dirname(paths.failure), { recursive: true });
    await writeFile(paths.failure, reason.slice(0, 1024));
    return 1;
  };
  try {
    const { summary, failure } = await runTrainingJob(paths, { signal: stop.signal });
    if (failure) return await fail(failure);
    return summary.status === 'interrupted' ? 143 : 0;
  } catch (error) {
    if (error instanceof HyperparameterError || error instanceof TrainingSetupError) return await fail(error.message);
    return await fail(`training failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  }
}
