import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { S3FaultSwitch } from '../../runtime/local/s3/fault-switch.js';
import { removeModels, trainModels, type TrainedModels } from '../containers/inference-fixtures.js';
import { random } from '../containers/prophet-corpus.js';
import { startLocal, waitFor } from '../runtime/local/local-aws-fixture.js';

const BUCKET = 'forecast-local';
const ENDPOINT = 'forecast-local';

/** The SDK as users make it: default retry settings (3 attempts), pointed at the edge. */
function defaultClients(endpointUrl: string) {
  const config = { endpoint: endpointUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), runtime: new SageMakerRuntimeClient(config) };
}

let models: TrainedModels;
test.before(async () => {
  models = await trainModels(3, 'run-a');
});
test.after.always(async () => {
  if (models) await removeModels(models);
});

test('S3 answering 500/503 on a share of requests: the SDK retries absorb every fault and nothing stored is lost', async (t) => {
  const faults = new S3FaultSwitch({ share: 0.4, random: random(9) });
  const { aws, s3: setup } = await startLocal(t, { s3Faults: faults });
  await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket: BUCKET, endpointName: ENDPOINT }).catch(() => undefined);
  const { s3 } = defaultClients(aws.endpointUrl);
  t.teardown(() => s3.destroy());
  const keys = Array.from({ length: 40 }, (_, i) => `faults/${i}.csv`);
  await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `body ${Key}` }))));
  for (const Key of keys) {
    t.is(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body?.transformToString(), `body ${Key}`);
    t.is((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }))).ContentLength, `body ${Key}`.length);
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'faults/' }));
  t.is(listed.KeyCount, keys.length);
  t.true(faults.injected[500] > 0 && faults.injected[503] > 0, `faults injected: ${JSON.stringify(faults.injected)}`);
  t.log(`S3 faults injected and absorbed: ${faults.injected[500]} × 500, ${faults.injected[503]} × 503 over ${keys.length * 3 + 1} calls`);
  setup.destroy();
});

test('the inference container killed under load is replaced, no invocation fails, and a corrupt model object is refused by name', async (t) => {
  const local = await startLocal(t);
  await provisionLocalStack({ endpointUrl: local.aws.endpointUrl, bucket: BUCKET, endpointName: ENDPOINT });
  for (const [customerId, archive] of models.archives) {
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `models/run-a/${customerId}.tar.gz`, Body: await readFile(archive) }));
  }
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/run-a/corrupt.tar.gz', Body: Buffer.from('\x1f\x8b\x08\x00 not really a gzip stream') }));
  const { runtime } = defaultClients(local.aws.endpointUrl);
  t.teardown(() => runtime.destroy());
  const targets = [...models.archives.keys()].map((id) => `run-a/${id}.tar.gz`);
  const invoke = (TargetModel: string) =>
    runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetModel, ContentType: 'application/json', Body: new TextEncoder().encode('{"period": 3}') }));
  for (const target of targets) await invoke(target);

  const configDir = path.join(local.dataDir, 'endpoints', ENDPOINT);
  const pidFile = path.join(configDir, (await readdir(configDir))[0] ?? '', 'container.pid');
  const pidText = await readFile(pidFile, 'utf8');
  const before = Number(pidText.trim());
  let stop = false;
  let served = 0;
  const load = Promise.all(
    Array.from({ length: 4 }, async (_, worker) => {
      for (let i = worker; !stop; i++) {
        const answer = JSON.parse(new TextDecoder().decode((await invoke(targets[i % targets.length] as string)).Body)) as { forecast: unknown[] };
        t.is(answer.forecast.length, 3);
        served++;
      }
    }),
  );
  await waitFor(async () => served, (n) => n >= 20, 60_000, 'invocations before the kill');
  process.kill(before, 'SIGKILL');
  await waitFor(
    async () => Number((await readFile(pidFile, 'utf8').catch(() => '0')).trim()),
    (pid) => pid !== before && pid !== 0,
    120_000,
    'a replacement inference container',
  );
  const atRestart = served;
  await waitFor(async () => served, (n) => n >= atRestart + 20, 120_000, 'invocations after the replacement');
  stop = true;
  await load;
  t.true(local.lines.some((line) => /stopped unexpectedly .*SIGKILL/.test(line)), 'the crash is logged');
  t.log(`container killed after ${atRestart} invocations; ${served} served in all, none failed`);

  const corrupt = await t.throwsAsync(invoke('run-a/corrupt.tar.gz'), { instanceOf: ValidationError });
  t.regex(corrupt?.message ?? '', /Failed to extract model data from s3:\/\/forecast-local\/models\/run-a\/corrupt\.tar\.gz/);
  await t.notThrowsAsync(invoke(targets[0] as string), 'other models still serve');
});
