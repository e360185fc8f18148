import test from 'ava';
import { buildInvokeInput, parseForecastResponse, ForecastWireError } from '../../../runtime/client/forecast-wire.js';

const response = {
  customerId: 42,
  model: 'r-2026-11-26/42.tar.gz',
  runId: 'r-2026-11-26',
  period: 2,
  forecast: [
    { date: '2026-11-27', yhat: 10.5, yhat_lower: 9, yhat_upper: 12 },
    { date: '2026-11-28', yhat: 11, yhat_lower: 9.5, yhat_upper: 12.5 },
  ],
};

test('buildInvokeInput sends {"period":N} as JSON to the target model', (t) => {
  const input = buildInvokeInput({ endpointName: 'forecast-local', targetModel: 'run-1/42.tar.gz', period: 7 });
  t.is(input.EndpointName, 'forecast-local');
  t.is(input.TargetModel, 'run-1/42.tar.gz');
  t.is(input.ContentType, 'application/json');
  t.is(input.Accept, 'application/json');
  t.deepEqual(JSON.parse(new TextDecoder().decode(input.Body as Uint8Array)), { period: 7 });
});

test('buildInvokeInput rejects names outside InvokeEndpoint limits, naming the field', (t) => {
  const ok = { endpointName: 'forecast-local', targetModel: 'run-1/42.tar.gz', period: 7 };
  t.throws(() => buildInvokeInput({ ...ok, endpointName: 'bad_name' }), { instanceOf: ForecastWireError, message: /\[endpointName\]/ });
  t.throws(() => buildInvokeInput({ ...ok, endpointName: 'a'.repeat(64) }), { message: /\[endpointName\]/ });
  t.throws(() => buildInvokeInput({ ...ok, targetModel: '' }), { message: /\[targetModel\]/ });
  t.throws(() => buildInvokeInput({ ...ok, targetModel: ' run/1.tar.gz' }), { message: /\[targetModel\]/ });
  t.throws(() => buildInvokeInput({ ...ok, targetModel: 'x'.repeat(1025) }), { message: /\[targetModel\]/ });
  t.throws(() => buildInvokeInput({ ...ok, period: 1.5 }), { message: /\[period\]/ });
  t.throws(() => buildInvokeInput({ ...ok, period: Number.NaN }), { message: /\[period\]/ });
});

test('parseForecastResponse accepts bytes and strings and normalises the customer id', (t) => {
  const bytes = new TextEncoder().encode(JSON.stringify(response));
  const parsed = parseForecastResponse(bytes);
  t.is(parsed.customerId, '42');
  t.is(parsed.runId, 'r-2026-11-26');
  t.is(parsed.forecast.length, 2);
  t.deepEqual(parseForecastResponse(JSON.stringify({ ...response, customerId: '42' })), parsed);
});

test('parseForecastResponse names what is wrong', (t) => {
  const bad = (patch: object) => JSON.stringify({ ...response, ...patch });
  t.throws(() => parseForecastResponse('not json'), { instanceOf: ForecastWireError, message: /not JSON/ });
  t.throws(() => parseForecastResponse('[]'), { message: /not a JSON object/ });
  t.throws(() => parseForecastResponse(bad({ customerId: null })), { message: /\[customerId\]/ });
  t.throws(() => parseForecastResponse(bad({ model: '' })), { message: /\[model\]/ });
  t.throws(() => parseForecastResponse(bad({ runId: 3 })), { message: /\[runId\]/ });
  t.throws(() => parseForecastResponse(bad({ period: 0 })), { message: /\[period\]/ });
  t.throws(() => parseForecastResponse(bad({ forecast: {} })), { message: /\[forecast\] is object/ });
  t.throws(() => parseForecastResponse(bad({ period: 3 })), { message: /2 entries for period 3/ });
  const point = response.forecast[0]!;
  t.throws(() => parseForecastResponse(bad({ forecast: [{ ...point, date: '27/11/2026' }, point] })), {
    message: /forecast\[0\]\]\.date/,
  });
  t.throws(() => parseForecastResponse(bad({ forecast: [point, { ...point, yhat: 'NaN' }] })), {
    message: /forecast\[1\]\]\.yhat is "NaN"/,
  });
  t.throws(() => parseForecastResponse(bad({ forecast: [point, { ...point, yhat_lower: 20 }] })), {
    message: /yhat_lower 20 above yhat_upper 12/,
  });
});
