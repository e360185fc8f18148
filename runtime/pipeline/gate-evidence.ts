import type { ModelDocument } from '../../containers/shared/model-artifact.js';
import { initProphet, replayPointForecast } from '../../containers/shared/prophet.js';
import type { ChallengerEvidence } from './gate.js';

/**
 * The gate's evidence about a challenger, from its artifact alone: the holdout errors training
 * recorded, the history's range and the holdout's level, and a point forecast replayed from the
 * stored fit (no optimizer, ≈ 0.5 ms: `replayPointForecast`), the one the inference server will answer.
 */
export async function challengerEvidence(model: ModelDocument, horizonDays: number): Promise<ChallengerEvidence> {
  await initProphet();
  const { y } = model.history;
  let historyMin = Number.POSITIVE_INFINITY;
  let historyMax = Number.NEGATIVE_INFINITY;
  for (const value of y) {
    if (value < historyMin) historyMin = value;
    if (value > historyMax) historyMax = value;
  }
  const holdout = y.slice(-model.metrics.holdoutDays);
  const holdoutLevel = holdout.reduce((sum, value) => sum + Math.abs(value), 0) / holdout.length;
  const forecast = replayPointForecast(model, horizonDays).map((point) => point.yhat);
  return { mae: model.metrics.mae, seasonalNaiveMae: model.metrics.seasonalNaiveMae, holdoutLevel, historyMin, historyMax, forecast };
}
