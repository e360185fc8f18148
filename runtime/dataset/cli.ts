import { parseArgs } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_DATASET_OPTIONS, datasetRowCount, generateDataset, resolveDatasetOptions, writeDataset } from './generator.js';

const USAGE = `Usage: npm run generate -- [options]

Writes the synthetic energy data set (customer_id,timestamp,consumption) to --out or stdout.

  --customers N           customers, ids 0..N-1 (default ${DEFAULT_DATASET_OPTIONS.customers})
  --start YYYY-MM-DD      first day, UTC (default ${DEFAULT_DATASET_OPTIONS.start})
  --days N                number of days (default ${DEFAULT_DATASET_OPTIONS.days})
  --frequency daily|hourly  one row per day or per hour (default ${DEFAULT_DATASET_OPTIONS.frequency})
  --weekly SHARE          weekly sine amplitude as a share of the baseline, 0..1 (default 0)
  --noise SHARE           Gaussian noise sd as a share of the baseline, 0..1 (default 0)
  --seed N                seed of the generator (default ${DEFAULT_DATASET_OPTIONS.seed})
  --order customer|time   rows grouped by customer (the seed's) or by time step (default customer)
  --out FILE              output file (default: stdout)
`;

function numberOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new RangeError(`[${name}] must be a number, got "${text}"`);
  return value;
}

export async function main(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      customers: { type: 'string' },
      start: { type: 'string' },
      days: { type: 'string' },
      frequency: { type: 'string' },
      weekly: { type: 'string' },
      noise: { type: 'string' },
      seed: { type: 'string' },
      order: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const given = {
    customers: numberOption('customers', values.customers),
    start: values.start,
    days: numberOption('days', values.days),
    frequency: values.frequency as 'daily' | 'hourly' | undefined,
    weekly: numberOption('weekly', values.weekly),
    noise: numberOption('noise', values.noise),
    seed: numberOption('seed', values.seed),
    order: values.order as 'customer' | 'time' | undefined,
  };
  const options = resolveDatasetOptions(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)));
  if (values.out) {
    const started = Date.now();
    const { rows, customers } = await writeDataset(values.out, options);
    process.stderr.write(`wrote ${rows} rows for ${customers} customers to ${values.out} in ${Date.now() - started} ms\n`);
  } else {
    await pipeline(generateDataset(options), process.stdout);
    process.stderr.write(`wrote ${datasetRowCount(options)} rows for ${options.customers} customers to stdout\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`generate: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exitCode = 2;
  },
);
