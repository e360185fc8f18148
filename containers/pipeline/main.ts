import { PipelineConfigError, readPipelineConfig } from '../../runtime/config/pipeline-config.js';
import { PIPELINE_ENV } from '../../runtime/config/pipeline-env.js';
import { formatPipelineEvent, PipelineRunError, runPipeline } from '../../runtime/pipeline/run-pipeline.js';

const USAGE = `usage: container pipeline
Performs one nightly pipeline run (processing, training, validation, publishing) configured by the
environment: ${Object.values(PIPELINE_ENV).join(', ')}.
AWS endpoints come from the SDK's standard variables (AWS_ENDPOINT_URL for local mode).`;

/** The pipeline image's entrypoint: one run from the environment. Exit 0 when the run published, 1 when it failed, 2 on bad configuration. */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.length > 0) {
    process.stderr.write(`unexpected arguments ${JSON.stringify(args)}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = readPipelineConfig(process.env);
  } catch (error) {
    if (error instanceof PipelineConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  try {
    const result = await runPipeline({ config, onEvent: (event) => log(formatPipelineEvent(event)) });
    log(`manifest ${result.publishOutcome}: ${Object.keys(result.manifest.models).length} customers served from ${config.endpointName}`);
    return 0;
  } catch (error) {
    const message = error instanceof PipelineRunError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${message}\n`);
    return 1;
  }
}
