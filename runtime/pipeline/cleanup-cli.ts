import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { DateTime, IANAZone } from 'luxon';
import { LOCAL_BUCKET } from '../client/cli.js';
import { parseCliArgs, processIo, sdkClientConfig, type CliIo } from '../cli-io.js';
import { DEFAULT_RETENTION_DAYS, MAX_DATA_LIFE_DAYS } from '../config/data-life.js';
import { PIPELINE_ENV } from '../config/pipeline-env.js';
import { cleanUpBucket, describeCleanup, retentionCutoffRunId } from './cleanup.js';

const USAGE = `Usage: npm run cleanup -- [options]

Deletes model versions, run data and history manifests older than the retention that no manifest
kept within the retention references (manifests/current.json and its models are never touched), and
says what goes, what stays and why. The pipeline does the same as its last step every night.
AWS_ENDPOINT_URL decides where requests go (local mode: http://127.0.0.1:4566).

  --dry-run             say what would be deleted, delete nothing
  --retention-days N    days to keep (default $${PIPELINE_ENV.retentionDays} or ${DEFAULT_RETENTION_DAYS})
  --bucket NAME         the stack's bucket (default $${PIPELINE_ENV.bucket} or ${LOCAL_BUCKET})
  --timezone ZONE       the schedule's time zone, in which run ids are written (default $${PIPELINE_ENV.scheduleTimezone} or UTC)
  --now ISO             judge ages as of this time (default now)
  -h, --help            this text
`;

export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const options = parseCliArgs('cleanup', USAGE, io, () => parseOptions(args, io.env));
  if (typeof options === 'number') return options;
  const s3 = new S3Client(sdkClientConfig(io.env));
  try {
    const result = await cleanUpBucket({
      s3,
      bucket: options.bucket,
      retentionDays: options.retentionDays,
      cutoffRunId: retentionCutoffRunId(options.now, options.retentionDays, options.timezone),
      dryRun: options.dryRun,
      onProgress: (line) => io.stderr(`${line}\n`),
    });
    io.stdout(`${describeCleanup(result).join('\n')}\n`);
    return 0;
  } catch (error) {
    io.stderr(`cleanup: ${(error as Error).name}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    s3.destroy();
  }
}

function parseOptions(args: readonly string[], env: NodeJS.ProcessEnv) {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'dry-run': { type: 'boolean', default: false },
      'retention-days': { type: 'string' },
      bucket: { type: 'string' },
      timezone: { type: 'string' },
      now: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help' as const;
  const daysText = values['retention-days'] ?? env[PIPELINE_ENV.retentionDays] ?? String(DEFAULT_RETENTION_DAYS);
  const retentionDays = /^\d+$/.test(daysText) ? Number(daysText) : Number.NaN;
  if (!Number.isSafeInteger(retentionDays) || retentionDays < 1 || retentionDays > MAX_DATA_LIFE_DAYS) {
    throw new Error(`[--retention-days] must be an integer from 1 to ${MAX_DATA_LIFE_DAYS}, got "${daysText}"`);
  }
  const timezone = values.timezone ?? env[PIPELINE_ENV.scheduleTimezone] ?? 'UTC';
  if (!IANAZone.isValidZone(timezone)) throw new Error(`[--timezone] must be an IANA time zone such as Europe/Paris, got "${timezone}"`);
  const now = values.now === undefined ? DateTime.utc() : DateTime.fromISO(values.now, { setZone: true });
  if (!now.isValid) throw new Error(`[--now] must be an ISO 8601 time such as 2026-11-26T02:00:00Z, got "${values.now}"`);
  return { dryRun: values['dry-run'], retentionDays, bucket: values.bucket ?? env[PIPELINE_ENV.bucket] ?? LOCAL_BUCKET, timezone, now };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
