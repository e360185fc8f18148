import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MersenneTwister } from './mersenne-twister.js';

/**
 * The seed's synthetic energy data set, as its author meant it: per customer
 * `baseline + amplitude·sin(2π·dayIndex/365 + phase)`, with `dayIndex` counted in days from the
 * start (the seed passed epoch nanoseconds instead, which aliased the sine into noise).
 *
 * Per-customer draws come from CPython's Mersenne Twister seeded like `random.seed(seed)`, three
 * `uniform` draws per customer in the seed's order, so customer 0 with seed 42 gets exactly the
 * seed's (819.7133992289419, 102.50107552226669, 1.7280601722204667). The optional weekly pattern
 * and noise draw from a second, independent stream, so turning them on never changes those draws.
 */
export interface DatasetOptions {
  /** Number of customers, ids 0..customers-1. */
  readonly customers: number;
  /** First day, `YYYY-MM-DD` (UTC). */
  readonly start: string;
  /** Number of days. */
  readonly days: number;
  /** One row per day (`YYYY-MM-DD`) or per hour (`YYYY-MM-DDTHH:00:00Z`). */
  readonly frequency: 'daily' | 'hourly';
  /** Amplitude of a weekly sine as a share of the baseline (0 = the seed's data). */
  readonly weekly: number;
  /** Standard deviation of Gaussian noise as a share of the baseline (0 = the seed's data). */
  readonly noise: number;
  readonly seed: number;
  /**
   * Row order: `customer` (the seed's: each customer's rows together, by time) or `time` (every
   * customer at one time step, then the next, like a daily raw drop).
   */
  readonly order: 'customer' | 'time';
}

export const DEFAULT_DATASET_OPTIONS: DatasetOptions = Object.freeze({
  customers: 1000,
  start: '2022-01-01',
  days: 365,
  frequency: 'daily',
  weekly: 0,
  noise: 0,
  seed: 42,
  order: 'customer',
});

/**
 * Named data sets: `seed` is the seed's exact noise-free data; `demo` (what `npm start` seeds) adds
 * a weekly pattern of ±10% of the baseline and noise of 5% of it to the same customers, so forecast
 * intervals and holdout errors mean something.
 */
export const DATASET_PRESETS = {
  demo: { weekly: 0.1, noise: 0.05 },
  seed: { weekly: 0, noise: 0 },
} as const satisfies Record<string, Pick<DatasetOptions, 'weekly' | 'noise'>>;

export type DatasetPreset = keyof typeof DATASET_PRESETS;

export function isDatasetPreset(name: string): name is DatasetPreset {
  return Object.hasOwn(DATASET_PRESETS, name);
}

export const DATASET_HEADER = 'customer_id,timestamp,consumption';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Rows per chunk handed to the stream: large enough to amortise stream overhead. */
const ROWS_PER_CHUNK = 8192;

/** One customer's parameters: the seed's three draws plus the weekly phase. */
export interface CustomerProfile {
  readonly customerId: number;
  readonly baseline: number;
  readonly amplitude: number;
  readonly phase: number;
  readonly weeklyPhase: number;
}

/** Checks and completes options; throws a RangeError naming the option that is wrong. */
export function resolveDatasetOptions(options: Partial<DatasetOptions> = {}): DatasetOptions {
  const resolved = { ...DEFAULT_DATASET_OPTIONS, ...options };
  const positiveInteger = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`[${name}] must be a positive integer, got ${value}`);
    }
  };
  positiveInteger('customers', resolved.customers);
  positiveInteger('days', resolved.days);
  if (!Number.isSafeInteger(resolved.seed) || resolved.seed < 0) {
    throw new RangeError(`[seed] must be a non-negative integer, got ${resolved.seed}`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(resolved.start) || formatDate(startMs(resolved.start)) !== resolved.start) {
    throw new RangeError(`[start] must be a calendar date YYYY-MM-DD, got "${resolved.start}"`);
  }
  if (resolved.frequency !== 'daily' && resolved.frequency !== 'hourly') {
    throw new RangeError(`[frequency] must be daily or hourly, got "${String(resolved.frequency)}"`);
  }
  if (resolved.order !== 'customer' && resolved.order !== 'time') {
    throw new RangeError(`[order] must be customer or time, got "${String(resolved.order)}"`);
  }
  for (const name of ['weekly', 'noise'] as const) {
    const value = resolved[name];
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new RangeError(`[${name}] must be a share between 0 and 1, got ${value}`);
    }
  }
  return Object.freeze(resolved);
}

/** The per-customer parameters, in customer order, drawn exactly as the seed drew them. */
export function customerProfiles(options: Pick<DatasetOptions, 'customers' | 'seed'>): CustomerProfile[] {
  const seedStream = new MersenneTwister(options.seed);
  const extraStream = new MersenneTwister(extraStreamSeed(options.seed));
  const profiles: CustomerProfile[] = [];
  for (let customerId = 0; customerId < options.customers; customerId++) {
    profiles.push({
      customerId,
      baseline: seedStream.uniform(500, 1000),
      amplitude: seedStream.uniform(100, 200),
      phase: seedStream.uniform(0, 2 * Math.PI),
      weeklyPhase: extraStream.uniform(0, 2 * Math.PI),
    });
  }
  return profiles;
}

/** Total rows (header excluded) the options produce. */
export function datasetRowCount(options: DatasetOptions): number {
  return options.customers * stepsOf(options);
}

/**
 * The data set as text chunks (header first, then rows of `customer_id,timestamp,consumption`),
 * produced lazily so any number of customers streams in constant memory (beyond one small
 * parameter record per customer).
 */
export function* datasetChunks(partial: Partial<DatasetOptions> = {}): Generator<string> {
  const options = resolveDatasetOptions(partial);
  const profiles = customerProfiles(options);
  const noise = new MersenneTwister(noiseStreamSeed(options.seed));
  const steps = stepsOf(options);
  const stepMs = options.frequency === 'daily' ? DAY_MS : HOUR_MS;
  const first = startMs(options.start);
  // Every customer shares the same timestamps: format each one once.
  const stamps: string[] = [];
  const stampOf = (step: number) => stamps[step] ?? (stamps[step] = formatStamp(first + step * stepMs, options.frequency));
  const row = (profile: CustomerProfile, step: number) => {
    const dayIndex = (step * stepMs) / DAY_MS;
    const value = consumptionAt(profile, dayIndex, options, noise);
    return `${profile.customerId},${stampOf(step)},${value}\n`;
  };

  let chunk = `${DATASET_HEADER}\n`;
  let rowsInChunk = 0;
  const outer = options.order === 'customer' ? options.customers : steps;
  const inner = options.order === 'customer' ? steps : options.customers;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      chunk += options.order === 'customer' ? row(profiles[i]!, j) : row(profiles[j]!, i);
      if (++rowsInChunk === ROWS_PER_CHUNK) {
        yield chunk;
        chunk = '';
        rowsInChunk = 0;
      }
    }
  }
  if (chunk) yield chunk;
}

/** The data set as a readable byte stream. */
export function generateDataset(options: Partial<DatasetOptions> = {}): Readable {
  return Readable.from(datasetChunks(options), { objectMode: false });
}

/** Writes the data set to `file` (creating its folder), returning how many rows and customers it wrote. */
export async function writeDataset(
  file: string,
  partial: Partial<DatasetOptions> = {},
): Promise<{ rows: number; customers: number }> {
  const options = resolveDatasetOptions(partial);
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await pipeline(generateDataset(options), fs.createWriteStream(file));
  return { rows: datasetRowCount(options), customers: options.customers };
}

/**
 * One value: the seed's yearly sine, plus the optional weekly sine and Gaussian noise (both as a
 * share of the baseline). Noise is clipped at zero because consumption is never negative.
 */
function consumptionAt(
  profile: CustomerProfile,
  dayIndex: number,
  options: Pick<DatasetOptions, 'weekly' | 'noise'>,
  noise: MersenneTwister,
): number {
  let value = profile.baseline + profile.amplitude * Math.sin((2 * Math.PI * dayIndex) / 365 + profile.phase);
  if (options.weekly > 0) {
    value += options.weekly * profile.baseline * Math.sin((2 * Math.PI * dayIndex) / 7 + profile.weeklyPhase);
  }
  if (options.noise > 0) {
    value = Math.max(0, value + options.noise * profile.baseline * gaussian(noise));
  }
  return value;
}

/** A standard normal draw (Box–Muller). */
function gaussian(random: MersenneTwister): number {
  const u = 1 - random.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.random());
}

function stepsOf(options: Pick<DatasetOptions, 'days' | 'frequency'>): number {
  return options.frequency === 'daily' ? options.days : options.days * 24;
}

function startMs(start: string): number {
  return Date.parse(`${start}T00:00:00Z`);
}

function formatDate(ms: number): string {
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString().slice(0, 10);
}

function formatStamp(ms: number, frequency: DatasetOptions['frequency']): string {
  return frequency === 'daily' ? formatDate(ms) : `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

// Independent streams for the extras, derived from the seed so the whole data set stays a function of it.
function extraStreamSeed(seed: number): number {
  return (seed * 2 + 1) % Number.MAX_SAFE_INTEGER;
}

function noiseStreamSeed(seed: number): number {
  return (seed * 2 + 2) % Number.MAX_SAFE_INTEGER;
}
