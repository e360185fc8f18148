import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { PIPELINE_ENV } from '../config/pipeline-env.js';
import { checkedCustomerId, listHistory, rollback, RollbackError, type HistoryLine, type RollbackTarget } from './rollback.js';
import { parseCliArgs, processIo, sdkClientConfig, type CliIo } from '../cli-io.js';

/** Local mode's names (DESIGN.md); the pipeline's variables override them, as on AWS. */
const LOCAL_BUCKET = 'forecast-local';

const USAGE = `Usage: npm run rollback -- (--to RUN | --previous | --customer ID --to RUN | --list) [--bucket NAME]

Switches manifests/current.json back to an earlier night's history manifest, after checking that
every model it references exists and loading the changed ones on the endpoint. The rollback is
recorded in manifests/history/. AWS_ENDPOINT_URL decides where requests go (local mode:
http://127.0.0.1:4566).

  --to RUN          roll every customer back to night RUN (yyyyMMdd-HHmm, see --list)
  --previous        roll back to the night published before the one current.json serves
  --customer ID     with --to: roll back only this customer
  --list            print the history: run, time, customers, rejected, median holdout MAE
  --bucket NAME     the stack's bucket (default $${PIPELINE_ENV.bucket} or ${LOCAL_BUCKET})
  -h, --help        this text
`;


/** Exit 0 done, 1 refused or failed (nothing switched), 2 bad usage. */
export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const options = parseCliArgs('rollback', USAGE, io, () => parseOptions(args, io.env));
  if (typeof options === 'number') return options;
  const clientConfig = sdkClientConfig(io.env);
  const s3 = new S3Client(clientConfig);
  const runtime = new SageMakerRuntimeClient(clientConfig);
  try {
    if (options.target === 'list') {
      io.stdout(`${formatHistory(await listHistory(s3, options.bucket))}\n`);
      return 0;
    }
    const result = await rollback({
      s3,
      runtime,
      bucket: options.bucket,
      target: options.target,
      warmModels: Number.POSITIVE_INFINITY,
      onEvent: (event) => {
        if (event.type === 'planned') io.stderr(`rollback: ${event.fromRunId} → ${event.toRunId}, ${event.changed} customer(s) change model\n`);
        if (event.type === 'checked') io.stderr(`rollback: all ${event.objects} model objects exist\n`);
        if (event.type === 'warmed') io.stderr(`rollback: ${event.models} model(s) loaded on the endpoint in ${event.seconds.toFixed(1)} s\n`);
      },
    });
    io.stdout(`current.json is now ${result.manifest.runId} (serving ${result.manifest.rollback?.toRunId} for ${result.manifest.rollback?.customerId === undefined ? 'every customer' : `customer ${result.manifest.rollback.customerId}`}), ${result.changed} customer(s) changed, ${result.seconds.toFixed(1)} s\n`);
    return 0;
  } catch (error) {
    const message = error instanceof RollbackError ? `${error.message} [${error.code}]` : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(`rollback: ${message}\n`);
    return 1;
  } finally {
    s3.destroy();
    runtime.destroy();
  }
}

function parseOptions(args: readonly string[], env: NodeJS.ProcessEnv): 'help' | { target: RollbackTarget | 'list'; bucket: string } {
  const { values } = parseArgs({
    args: [...args],
    options: {
      to: { type: 'string' },
      previous: { type: 'boolean', default: false },
      customer: { type: 'string' },
      list: { type: 'boolean', default: false },
      bucket: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const bucket = values.bucket ?? env[PIPELINE_ENV.bucket] ?? LOCAL_BUCKET;
  const modes = [values.to !== undefined && values.customer === undefined, values.previous, values.customer !== undefined, values.list].filter(Boolean).length;
  if (modes !== 1) throw new Error('give exactly one of --to RUN, --previous, --customer ID --to RUN, --list');
  if (values.list) return { target: 'list', bucket };
  if (values.previous) return { target: { kind: 'previous' }, bucket };
  if (values.to === undefined) throw new Error('[--customer] needs --to RUN: the night to take the customer\'s model from');
  if (values.customer !== undefined) return { target: { kind: 'customer', customerId: checkedCustomerId(values.customer), toRunId: values.to }, bucket };
  return { target: { kind: 'run', toRunId: values.to }, bucket };
}

/** The history as a table, oldest first; `*` marks the manifest current.json holds. */
export function formatHistory(lines: readonly HistoryLine[]): string {
  if (lines.length === 0) return 'no manifest was published yet';
  const header = ['', 'run', 'published', 'customers', 'rejected', 'median MAE', 'note'];
  const rows = lines.map((line) => [
    line.current ? '*' : '',
    line.runId,
    line.publishedAt,
    String(line.customers),
    line.rejected === undefined ? '-' : String(line.rejected),
    line.medianMae === undefined ? '-' : line.medianMae.toFixed(2),
    line.rollback === undefined ? '' : `rollback of ${line.rollback.fromRunId} to ${line.rollback.toRunId}${line.rollback.customerId === undefined ? '' : ` for customer ${line.rollback.customerId}`}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [format(header), ...rows.map(format)].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
