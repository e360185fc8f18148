import { DECISION_METRICS, METRIC_DIMENSIONS, METRIC_NAMES } from '../../runtime/config/metric-names.js';
import { PIPELINE_STEPS } from '../../runtime/pipeline/report.js';

export interface DashboardArgs {
  readonly region: string;
  readonly metricsNamespace: string;
  readonly stack: string;
  readonly endpointName: string;
  readonly variantName: string;
}

/** SageMaker's endpoint metrics the dashboard shows (namespace `AWS/SageMaker`). */
export const ENDPOINT_METRICS = ['Invocations', 'Invocation4XXErrors', 'Invocation5XXErrors', 'ModelLoadingWaitTime'] as const;

type MetricRow = (string | Record<string, string>)[];

const NIGHT = 86_400;
const WIDTH = 12;
const HEIGHT = 6;

/**
 * The CloudWatch dashboard's body: what every night did (outcome, step durations, customers by
 * decision, holdout error) from the pipeline's metrics, beside the endpoint's own traffic, errors and
 * model loading wait. Names come from the shared module, so the dashboard shows only what the
 * pipeline emits.
 */
export function dashboardBody(args: DashboardArgs): string {
  const stackDimension = [METRIC_DIMENSIONS.stack, args.stack];
  const run = (name: string, label: string, extra: string[] = [], options: Record<string, string> = {}): MetricRow => [
    args.metricsNamespace,
    name,
    ...stackDimension,
    ...extra,
    { label, ...options },
  ];
  const endpoint = (name: string, stat: string): MetricRow => [
    'AWS/SageMaker',
    name,
    'EndpointName',
    args.endpointName,
    'VariantName',
    args.variantName,
    { stat, label: `${name} (${stat})` },
  ];
  const widget = (title: string, metrics: MetricRow[], x: number, y: number, properties: Record<string, unknown> = {}) => ({
    type: 'metric',
    x,
    y,
    width: WIDTH,
    height: HEIGHT,
    properties: { title, region: args.region, view: 'timeSeries', stat: 'Maximum', period: NIGHT, metrics, ...properties },
  });
  const widgets = [
    widget('Run outcome (1 succeeded, 0 failed, gap: no run) and run seconds', [
      run(METRIC_NAMES.runSucceeded, 'succeeded'),
      run(METRIC_NAMES.runSeconds, 'run seconds', [], { yAxis: 'right' }),
    ], 0, 0),
    widget(
      'Step durations (seconds)',
      PIPELINE_STEPS.map((step) => run(METRIC_NAMES.stepSeconds, step, [METRIC_DIMENSIONS.step, step])),
      WIDTH,
      0,
      { stacked: true },
    ),
    widget(
      'Customers by decision',
      [
        run(METRIC_NAMES.customersProcessed, 'processed'),
        run(METRIC_NAMES.modelsTrained, 'models trained'),
        ...Object.entries(DECISION_METRICS).map(([decision, name]) => run(name, decision)),
        run(METRIC_NAMES.customersStale, 'stale'),
      ],
      0,
      HEIGHT,
    ),
    widget(
      'Holdout error (WAPE) and shares',
      [
        run(METRIC_NAMES.holdoutErrorP50, 'holdout WAPE p50'),
        run(METRIC_NAMES.holdoutErrorP90, 'holdout WAPE p90'),
        run(METRIC_NAMES.beatsSeasonalNaiveShare, 'share beating seasonal-naive'),
        run(METRIC_NAMES.rejectedOrFailedShare, 'rejected or failed share'),
        run(METRIC_NAMES.quarantinedShare, 'quarantined row share'),
      ],
      WIDTH,
      HEIGHT,
    ),
    widget(
      'Data quality and model age',
      [run(METRIC_NAMES.quarantinedRows, 'quarantined rows'), run(METRIC_NAMES.oldestModelAgeDays, 'oldest served model (days)')],
      0,
      2 * HEIGHT,
    ),
    widget(
      'Endpoint invocations and errors',
      [endpoint('Invocations', 'Sum'), endpoint('Invocation4XXErrors', 'Sum'), endpoint('Invocation5XXErrors', 'Sum')],
      WIDTH,
      2 * HEIGHT,
      { period: 300 },
    ),
    widget('Model loading wait time (microseconds)', [endpoint('ModelLoadingWaitTime', 'Average'), endpoint('ModelLoadingWaitTime', 'p90')], 0, 3 * HEIGHT, {
      period: 300,
    }),
  ];
  return JSON.stringify({ widgets });
}
