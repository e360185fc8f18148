import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { ForecastPoint } from './forecast-wire.js';

/** One observed day of a customer's consumption. */
export interface HistoryPoint {
  /** ISO date `YYYY-MM-DD`, or an ISO time for sub-daily histories. */
  readonly date: string;
  readonly value: number;
}

export interface ForecastPlotInput {
  readonly customerId: string;
  readonly targetModel: string;
  readonly history: readonly HistoryPoint[];
  readonly forecast: readonly ForecastPoint[];
  /** Days of history shown before the forecast (default 90; 0 shows all). */
  readonly historyDays?: number;
}

const HISTORY_COLOR = '#4c78a8';
const FORECAST_COLOR = '#e45756';

/** The Vega-Lite spec of history, forecast and its uncertainty interval on one time axis. */
export function forecastPlotSpec(input: ForecastPlotInput): TopLevelSpec {
  const days = input.historyDays ?? 90;
  const history = days > 0 ? input.history.slice(-days) : input.history;
  const x = { field: 'date', type: 'temporal', title: 'date' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Customer ${input.customerId}: consumption forecast`, subtitle: `model ${input.targetModel}` },
    width: 720,
    height: 320,
    layer: [
      {
        data: { values: input.forecast.map((p) => ({ ...p })) },
        mark: { type: 'area', opacity: 0.25, color: FORECAST_COLOR },
        encoding: {
          x,
          y: { field: 'yhat_lower', type: 'quantitative', title: 'consumption' },
          y2: { field: 'yhat_upper' },
        },
      },
      {
        data: { values: [...history.map((p) => ({ ...p, series: 'history' })), ...input.forecast.map((p) => ({ date: p.date, value: p.yhat, series: 'forecast' }))] },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'consumption', scale: { zero: false } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['history', 'forecast'], range: [HISTORY_COLOR, FORECAST_COLOR] },
          },
        },
      },
    ],
  };
}

/** Renders a Vega-Lite spec to SVG text headlessly (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
