import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sagemakerPaths } from '../shared/sagemaker-paths.js';
import { ProcessingInputError, processRawData } from './process-raw-data.js';

const USAGE = `usage: container process [--input DIR] [--output DIR] [--report DIR] [--scratch DIR] [--workers N]
  --input DIR    raw CSV files, read recursively (default $SAGEMAKER_BASE_DIR/processing/input/raw)
  --output DIR   one <customerId>.csv per customer, nothing else (default $SAGEMAKER_BASE_DIR/processing/output/customer-data)
  --report DIR   summary.json, quarantine.csv and customers.csv (default $SAGEMAKER_BASE_DIR/processing/output/report)
  --scratch DIR  where spill files go while the job runs (default $SAGEMAKER_BASE_DIR/processing/scratch,
                 on the job's storage volume rather than the container's small root file system)
  --workers N    worker threads (default the CPUs available, at most 8)`;

/**
 * The processing container's entrypoint. Exit code 0 on success; on failure 1 with the reason in
 * `output/message`, which SageMaker turns into the job's ExitMessage.
 */
export async function main(args: readonly string[]): Promise<number> {
  const paths = sagemakerPaths();
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        input: { type: 'string' },
        output: { type: 'string' },
        report: { type: 'string' },
        scratch: { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    return fail(paths.message, `invalid arguments: ${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isSafeInteger(workers) || workers < 1)) {
    return fail(paths.message, `invalid arguments: --workers must be a positive integer, got "${values.workers}"\n${USAGE}`);
  }
  const inputDir = values.input ?? path.join(paths.processingInput, 'raw');
  try {
    const summary = await processRawData({
      inputDir,
      outputDir: values.output ?? path.join(paths.processingOutput, 'customer-data'),
      reportDir: values.report ?? path.join(paths.processingOutput, 'report'),
      scratchDir: values.scratch ?? path.join(paths.base, 'processing', 'scratch'),
      ...(workers === undefined ? {} : { workers }),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const reasons = Object.entries(summary.quarantined).map(([reason, count]) => `${reason} ${count}`).join(', ');
    process.stderr.write(
      `processing: wrote ${summary.customers} customer files (${summary.rows.written} rows) from ${summary.rows.read} rows in ${summary.files.length} file(s), ` +
        `${summary.rows.quarantined} quarantined${reasons ? ` (${reasons})` : ''}, ${summary.rows.corrected} corrected by a later drop, ${summary.rowsPerSecond} rows/s, ` +
        `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`,
    );
    return 0;
  } catch (error) {
    const message = error instanceof ProcessingInputError ? error.message : `processing failed: ${error instanceof Error ? error.message : String(error)}`;
    return fail(paths.message, message);
  }
}

async function fail(messageFile: string, message: string): Promise<number> {
  process.stderr.write(`processing: ${message}\n`);
  await fs.mkdir(path.dirname(messageFile), { recursive: true });
  await fs.writeFile(messageFile, `${message}\n`);
  return 1;
}
