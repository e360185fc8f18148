import test from 'ava';
import { main } from '../../../containers/pipeline/main.js';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';

function captureStderr(t: { teardown(fn: () => void): void }): string[] {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  t.teardown(() => {
    process.stderr.write = write;
  });
  return lines;
}

test.serial('a bad configuration exits 2 naming every variable, before any AWS call', async (t) => {
  const saved = { ...process.env };
  t.teardown(() => {
    process.env = saved;
  });
  for (const name of Object.values(PIPELINE_ENV)) delete process.env[name];
  process.env[PIPELINE_ENV.trainingInstanceCount] = '0';
  const stderr = captureStderr(t);
  t.is(await main([]), 2);
  const text = stderr.join('');
  for (const name of ['FORECAST_BUCKET', 'FORECAST_SAGEMAKER_ROLE_ARN', 'FORECAST_ENDPOINT_NAME', 'FORECAST_TRAINING_INSTANCE_COUNT']) {
    t.true(text.includes(name), `${name} missing from: ${text}`);
  }
});

test.serial('unexpected arguments exit 2 with the usage', async (t) => {
  const stderr = captureStderr(t);
  t.is(await main(['--bucket', 'x']), 2);
  t.regex(stderr.join(''), /usage: container pipeline/);
});
