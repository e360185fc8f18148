import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_BUCKET } from '../client/cli.js';
import { PIPELINE_ENV } from '../config/pipeline-env.js';
import { nightPageHtml } from './night-page.js';
import { formatNightText, summarizeNight } from './night-summary.js';
import { readNightReports, ReportNotFoundError, RUN_ID_SHAPE } from './report-store.js';
import { parseCliArgs, processIo, sdkClientConfig, type CliIo } from '../cli-io.js';


const USAGE = `Usage: npm run report -- [--run RUN_ID] [--json] [--html FILE.html]

What a nightly run did, from its lasting report (reports/<runId>.json): steps and durations,
customers by decision, the rejected, failed and dropped customers with reasons, holdout error
percentiles, and the comparison with the night before. AWS_ENDPOINT_URL decides where requests
go (local mode: http://127.0.0.1:4566).

  --run RUN_ID     the run (yyyyMMdd-HHmm); default the latest
  --json           print the summary as JSON instead of text
  --html FILE      also write one self-contained page with charts to FILE (.html)
  --bucket NAME    the stack's bucket (default $${PIPELINE_ENV.bucket} or ${LOCAL_BUCKET})
  -h, --help       this text
`;


class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit 0 with the report of a succeeded night, 1 for a failed night or a missing report, 2 on usage errors. */
export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const options = parseCliArgs('report', USAGE, io, () => parseOptions(args, io.env));
  if (typeof options === 'number') return options;
  const s3 = new S3Client(sdkClientConfig(io.env));
  try {
    const { report, previous } = await readNightReports(s3, options.bucket, options.run);
    const summary = summarizeNight(report, previous);
    io.stdout(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatNightText(summary));
    if (options.html) {
      await writeFile(options.html, await nightPageHtml(summary));
      io.stderr(`report page written to ${options.html}\n`);
    }
    return report.status === 'succeeded' ? 0 : 1;
  } catch (error) {
    const message = error instanceof ReportNotFoundError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(`report: ${message}\n`);
    return 1;
  } finally {
    s3.destroy();
  }
}

function parseOptions(args: readonly string[], env: NodeJS.ProcessEnv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        run: { type: 'string' },
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
        bucket: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help' as const;
  if (values.run !== undefined && !RUN_ID_SHAPE.test(values.run)) {
    throw new UsageError(`[--run] must be a run id such as 20261126-0200 (yyyyMMdd-HHmm), got ${JSON.stringify(values.run)}`);
  }
  if (values.html !== undefined && !values.html.endsWith('.html')) {
    throw new UsageError(`[--html] must name an .html file, got ${JSON.stringify(values.html)}`);
  }
  return {
    run: values.run,
    json: values.json,
    html: values.html,
    bucket: values.bucket ?? env[PIPELINE_ENV.bucket] ?? LOCAL_BUCKET,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
