import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, writeModelArchive } from '../shared/model-artifact.js';
import type { ModelDocument, ModelMetrics } from '../shared/model-artifact.js';
import { StanNotLoadedError, fitProphet, initProphetFitting } from '../shared/prophet.js';
import type { FittedProphet, History } from '../shared/prophet.js';
import { CustomerFileError, parseCustomerCsv } from './customer-series.js';
import { holdoutErrors, intervalCoverage, seasonalNaive } from './evaluation.js';
import type { TrainingSettings } from './hyperparameters.js';

export interface CustomerTask {
  customerId: string;
  /** The customer's CSV in the training channel. */
  file: string;
  /** Where the finished model goes: `checkpoints/<customerId>.tar.gz`. */
  checkpoint: string;
}

export interface TrainedCustomer {
  doc: ModelDocument;
  /** Fits that ran augurs' Stan optimizer (its WebAssembly memory is never returned; see worker-pool.ts). */
  stanFits: number;
}

/**
 * Trains one customer: read the file, fit on all but the last `holdoutDays`, measure the holdout
 * error against a seasonal-naive forecast, refit on everything and write the archive atomically.
 * Prophet must be initialised in this thread (`initProphet`); augurs' Stan optimizer is loaded on
 * the first customer that needs it.
 */
export async function trainCustomer(task: CustomerTask, settings: TrainingSettings): Promise<TrainedCustomer> {
  // Synchronous: a worker thread trains one customer at a time (see writeFileAtomic).
  const bytes = readFileSync(task.file);
  const name = path.basename(task.file);
  const series = parseCustomerCsv(bytes.toString('utf8'), name);
  const { holdoutDays, minHistoryDays } = settings;
  if (series.ds.length < holdoutDays + minHistoryDays) {
    throw new CustomerFileError(
      `${name}: ${series.ds.length} days of data; at least ${holdoutDays + minHistoryDays} are needed (min_history_days ${minHistoryDays} + holdout_days ${holdoutDays})`,
    );
  }
  const cut = series.ds.length - holdoutDays;
  const train = { ds: series.ds.slice(0, cut), y: series.y.slice(0, cut) };
  const holdout = { ds: series.ds.slice(cut), y: series.y.slice(cut) };

  const evaluated = await fitLoadingStan(train, settings);
  let stanFits = evaluated.solver === 'stan' ? 1 : 0;
  let metrics: ModelMetrics;
  try {
    const predicted = evaluated.predictAt(holdout.ds);
    const errors = holdoutErrors(holdout.y, predicted.map((p) => p.yhat));
    const naive = holdoutErrors(holdout.y, seasonalNaive(train, holdout.ds, settings.seasonalNaivePeriod));
    metrics = {
      holdoutDays,
      trainPoints: train.ds.length,
      mae: errors.mae,
      rmse: errors.rmse,
      wape: errors.wape,
      seasonalNaiveMae: naive.mae,
      seasonalNaivePeriod: settings.seasonalNaivePeriod,
      intervalCoverage:
        settings.prophet.uncertaintySamples > 0
          ? intervalCoverage(holdout.y, predicted.map((p) => p.yhat_lower), predicted.map((p) => p.yhat_upper))
          : null,
    };
  } finally {
    evaluated.free();
  }
  if (!Number.isFinite(metrics.wape)) {
    throw new CustomerFileError(`${name}: every holdout day has zero consumption; the model cannot be evaluated`);
  }

  const full = await fitLoadingStan(series, settings);
  const fit = full.fit;
  if (full.solver === 'stan') stanFits++;
  full.free();
  const doc: ModelDocument = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    customerId: task.customerId,
    runId: settings.runId,
    trainedAt: new Date().toISOString(),
    prophet: settings.prophet,
    history: { ds: series.ds, y: series.y },
    fit,
    metrics,
    source: { file: name, sha256: createHash('sha256').update(bytes).digest('hex'), rows: series.rows },
  };
  await writeModelArchive(task.checkpoint, doc);
  return { doc, stanFits };
}

/** `fitProphet`, loading augurs' Stan optimizer first when the fit turns out to need it. */
async function fitLoadingStan(history: History, settings: TrainingSettings): Promise<FittedProphet> {
  try {
    return fitProphet(history, settings.prophet, { optimizer: settings.optimizer });
  } catch (error) {
    if (!(error instanceof StanNotLoadedError)) throw error;
    await initProphetFitting();
    return fitProphet(history, settings.prophet, { optimizer: settings.optimizer });
  }
}
