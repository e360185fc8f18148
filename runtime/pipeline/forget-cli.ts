import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_BUCKET } from '../client/cli.js';
import { parseCliArgs, processIo, sdkClientConfig, type CliIo } from '../cli-io.js';
import { PIPELINE_CONFIG_DEFAULTS } from '../config/pipeline-config.js';
import { PIPELINE_ENV } from '../config/pipeline-env.js';
import { DEFAULT_NONCURRENT_VERSION_DAYS } from '../config/data-life.js';
import { forgetCustomer } from './forget.js';

const USAGE = `Usage: npm run forget -- --customer ID [options]

Erases one customer: removes them from manifests/current.json and every history manifest, deletes
their models and processed files in every run, and rewrites every raw drop, quarantine file and
customer index without their rows. In a versioned bucket the previous versions remain until the
noncurrent-version lifecycle rule expires them (stack config noncurrentVersionDays, default ${DEFAULT_NONCURRENT_VERSION_DAYS}).
AWS_ENDPOINT_URL decides where requests go (local mode: http://127.0.0.1:4566).

  --customer ID     the customer to erase (required)
  --dry-run         say what would change, change nothing
  --bucket NAME     the stack's bucket (default $${PIPELINE_ENV.bucket} or ${LOCAL_BUCKET})
  -h, --help        this text
`;

export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const options = parseCliArgs('forget', USAGE, io, () => parseOptions(args, io.env));
  if (typeof options === 'number') return options;
  const s3 = new S3Client(sdkClientConfig(io.env));
  try {
    const result = await forgetCustomer({
      s3,
      ...options,
      log: (line) => io.stdout(`${line}\n`),
    });
    const rows = result.rewritten.reduce((sum, r) => sum + r.rows, 0);
    io.stdout(
      `forget: customer ${result.customerId}: ${result.dryRun ? 'would remove' : 'removed'} from ${result.manifests.length} manifest(s), ` +
        `${result.deleted.length} object(s) ${result.dryRun ? 'to delete' : 'deleted'}, ${rows} row(s) in ${result.rewritten.length} object(s) ${result.dryRun ? 'to rewrite' : 'rewritten'}\n`,
    );
    return 0;
  } catch (error) {
    io.stderr(`forget: ${(error as Error).name}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    s3.destroy();
  }
}

function parseOptions(args: readonly string[], env: NodeJS.ProcessEnv) {
  const { values } = parseArgs({
    args: [...args],
    options: {
      customer: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      bucket: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help' as const;
  const customerId = values.customer?.trim();
  if (!customerId) throw new Error('[--customer] is required: the id of the customer to erase');
  return {
    customerId,
    dryRun: values['dry-run'],
    bucket: values.bucket ?? env[PIPELINE_ENV.bucket] ?? LOCAL_BUCKET,
    rawPrefix: env[PIPELINE_ENV.rawPrefix] ?? PIPELINE_CONFIG_DEFAULTS.rawPrefix,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
