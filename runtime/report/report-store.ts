import type { S3Client } from '@aws-sdk/client-s3';
import { lastingReportKey, REPORTS_PREFIX } from '../pipeline/bucket-layout.js';
import type { RunReport } from '../pipeline/report.js';
import { listKeys, readTextIfExists } from '../pipeline/s3-objects.js';

/** Reads the lasting run reports (`reports/<runId>.json`), whose ids sort in time order. */

/** `yyyyMMdd-HHmm`, as `RUN_ID_FORMAT` writes it. */
export const RUN_ID_SHAPE = /^\d{8}-\d{4}$/;

export class ReportNotFoundError extends Error {
  override readonly name = 'ReportNotFoundError';
}

export interface NightReports {
  readonly report: RunReport;
  /** The report of the run just before, when there is one. */
  readonly previous?: RunReport;
}

/** The given run's report (the latest when `runId` is undefined) and the one before it. */
export async function readNightReports(s3: S3Client, bucket: string, runId: string | undefined): Promise<NightReports> {
  const runIds = (await listKeys(s3, bucket, REPORTS_PREFIX))
    .map((key) => key.slice(REPORTS_PREFIX.length, -'.json'.length))
    .filter((id) => RUN_ID_SHAPE.test(id))
    .sort();
  if (runIds.length === 0) throw new ReportNotFoundError(`s3://${bucket}/${REPORTS_PREFIX} holds no run report yet: no run has finished in this bucket`);
  const wanted = runId ?? (runIds.at(-1) as string);
  const index = runIds.indexOf(wanted);
  if (index < 0) {
    throw new ReportNotFoundError(`No report for run ${wanted} under s3://${bucket}/${REPORTS_PREFIX}; the latest runs are ${runIds.slice(-5).join(', ')}`);
  }
  const report = await readReport(s3, bucket, wanted);
  const previousId = runIds[index - 1];
  return previousId === undefined ? { report } : { report, previous: await readReport(s3, bucket, previousId) };
}

async function readReport(s3: S3Client, bucket: string, runId: string): Promise<RunReport> {
  const key = lastingReportKey(runId);
  const text = await readTextIfExists(s3, bucket, key);
  if (text === undefined) throw new ReportNotFoundError(`s3://${bucket}/${key} disappeared while it was read`);
  try {
    return JSON.parse(text) as RunReport;
  } catch (error) {
    throw new ReportNotFoundError(`s3://${bucket}/${key} is not JSON (${(error as Error).message})`);
  }
}
