import test from 'ava';
import { METRIC_DIMENSIONS, METRIC_NAMES } from '../../runtime/config/metric-names.js';
import { runMetricRecords } from '../../runtime/pipeline/run-metrics.js';
import { planStack, type StackPlan } from '../../infra/plan/plan-stack.js';
import { ENDPOINT_METRICS } from '../../infra/components/dashboard.js';
import { VARIANT_NAME } from '../../infra/components/endpoint.js';
import { MISSED_NIGHT_HOURS } from '../../infra/components/monitoring.js';
import { degradedNight } from '../runtime/pipeline/report-fixtures.js';
import { at, ofType, one } from './plan-helpers.js';

let plan: StackPlan;
test.before(async () => {
  plan = await planStack({ stack: 'dev' });
});

/** Every metric name a run emits, from the pipeline's own derivation of a night that has every field. */
const emitted = new Set(runMetricRecords(degradedNight(), 'dev').flatMap((record) => record.metrics.map((m) => m.name)));
const alarm = (name: string) => one(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm', `monitoring-${name}`);
const nightlyAlarms = () => ofType(plan, 'aws:cloudwatch/metricAlarm:MetricAlarm').filter((a) => a.inputs['namespace'] === 'ForecastFleet');

test('the emitted set covers every shared name (so the checks below compare against all of them)', (t) => {
  t.deepEqual([...emitted].sort(), Object.values(METRIC_NAMES).sort());
});

test('every alarm on the pipeline\'s namespace watches a metric the pipeline emits, for this stack, and notifies the topic', (t) => {
  const topic = one(plan, 'aws:sns/topic:Topic').outputs['arn'];
  const alarms = nightlyAlarms();
  t.is(alarms.length, 4);
  for (const a of alarms) {
    t.true(emitted.has(String(a.inputs['metricName'])), `${a.name} watches ${String(a.inputs['metricName'])}, which no run emits`);
    t.deepEqual(a.inputs['dimensions'], { [METRIC_DIMENSIONS.stack]: 'dev' });
    t.deepEqual(a.inputs['alarmActions'], [topic]);
    t.deepEqual(a.inputs['okActions'], [topic]);
    t.regex(String(a.inputs['alarmDescription']), /Look first at /, `${a.name} says what to look at first`);
  }
});

test('a missed night: no successful run in 26 hours, and no data at all counts as breaching', (t) => {
  const missed = alarm('missed-night');
  t.like(missed.inputs, {
    metricName: METRIC_NAMES.runSucceeded,
    statistic: 'Maximum',
    treatMissingData: 'breaching',
    comparisonOperator: 'LessThanThreshold',
    threshold: 1,
  });
  t.is((missed.inputs['period'] as number) * (missed.inputs['evaluationPeriods'] as number), MISSED_NIGHT_HOURS * 3600);
  t.is(missed.inputs['datapointsToAlarm'], missed.inputs['evaluationPeriods'], 'every hour of the window must lack a success');
  t.regex(String(missed.inputs['alarmDescription']), /\/forecast-fleet\/dev\/pipeline/);
});

test('degraded nights: rejected or failed share, stale customers, quarantined share, each held until the next night', (t) => {
  t.like(alarm('rejected-share').inputs, { metricName: METRIC_NAMES.rejectedOrFailedShare, threshold: 0.05, comparisonOperator: 'GreaterThanThreshold' });
  t.like(alarm('stale-customers').inputs, { metricName: METRIC_NAMES.customersStale, threshold: 0, comparisonOperator: 'GreaterThanThreshold' });
  t.like(alarm('quarantined-share').inputs, { metricName: METRIC_NAMES.quarantinedShare, threshold: 0.01, comparisonOperator: 'GreaterThanThreshold' });
  for (const name of ['rejected-share', 'stale-customers', 'quarantined-share']) t.is(alarm(name).inputs['treatMissingData'], 'ignore');
  t.regex(String(alarm('rejected-share').inputs['alarmDescription']), /More than 5% of last night's customers/);
});

test('the dashboard body parses and names only metrics the pipeline emits and the endpoint\'s own', (t) => {
  const dashboard = one(plan, 'aws:cloudwatch/dashboard:Dashboard');
  t.is(dashboard.inputs['dashboardName'], 'forecast-fleet-dev-nightly');
  t.is(plan.outputs['dashboardName'], 'forecast-fleet-dev-nightly');
  const body = JSON.parse(String(dashboard.inputs['dashboardBody'])) as { widgets: { type: string; properties: { title: string; region: string; metrics: unknown[][] } }[] };
  const seen = new Set<string>();
  for (const widget of body.widgets) {
    t.is(widget.type, 'metric');
    t.is(widget.properties.region, 'eu-west-1');
    for (const row of widget.properties.metrics) {
      const [namespace, name, ...rest] = row as string[];
      const dimensions = rest.filter((part) => typeof part === 'string');
      if (namespace === 'ForecastFleet') {
        t.true(emitted.has(name ?? ''), `${widget.properties.title}: ${name} is not emitted`);
        t.deepEqual(dimensions.slice(0, 2), [METRIC_DIMENSIONS.stack, 'dev']);
      } else {
        t.is(namespace, 'AWS/SageMaker');
        t.true((ENDPOINT_METRICS as readonly string[]).includes(name ?? ''));
        t.deepEqual(dimensions, ['EndpointName', 'forecast-fleet-dev', 'VariantName', VARIANT_NAME]);
      }
      seen.add(`${namespace} ${name}`);
    }
  }
  for (const name of ENDPOINT_METRICS) t.true(seen.has(`AWS/SageMaker ${name}`), name);
  for (const name of [METRIC_NAMES.runSucceeded, METRIC_NAMES.stepSeconds, METRIC_NAMES.holdoutErrorP50, METRIC_NAMES.holdoutErrorP90, METRIC_NAMES.customersStale]) {
    t.true(seen.has(`ForecastFleet ${name}`), name);
  }
  t.truthy(at(body, 'widgets', 1, 'properties', 'stacked'));
});
