import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointConfigCommand, DeleteEndpointCommand, DescribeEndpointCommand, UpdateEndpointCommand } from '@aws-sdk/client-sagemaker';
import { localStackNames } from '../../../runtime/local/bootstrap.js';
import { InvokeEndpointCommand, ModelError, ModelNotReadyException, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { provisionLocalStack } from '../../../runtime/local/bootstrap.js';
import { removeModels, trainModels, type TrainedModels } from '../../containers/inference-fixtures.js';
import { startLocal, waitFor, type LocalAwsFixture } from './local-aws-fixture.js';

const BUCKET = 'forecast-local';
const ENDPOINT = 'forecast-local';
let models: TrainedModels;

test.before(async () => {
  models = await trainModels(4, 'run-a');
});
test.after.always(async () => {
  if (models) await removeModels(models);
});

async function serving(t: ExecutionContext, options: Parameters<typeof startLocal>[1] = {}): Promise<LocalAwsFixture> {
  const local = await startLocal(t, options);
  await provisionLocalStack({ endpointUrl: local.aws.endpointUrl, bucket: BUCKET, endpointName: ENDPOINT });
  for (const [customerId, archive] of models.archives) {
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `models/run-a/${customerId}.tar.gz`, Body: await readFile(archive) }));
  }
  return local;
}

async function close(local: LocalAwsFixture): Promise<void> {
  for (const client of [local.s3, local.sagemaker, local.runtime]) client.destroy();
  await local.aws.close();
}

const invoke = (local: LocalAwsFixture, targetModel: string, body = '{"period": 7}') =>
  local.runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetModel: targetModel, ContentType: 'application/json', Body: new TextEncoder().encode(body) }));

const parse = (output: { Body?: Uint8Array }) => JSON.parse(new TextDecoder().decode(output.Body)) as { customerId: string; model: string; forecast: { yhat: number }[] };

test('provisioning is idempotent; the MME endpoint answers every model through the real SDK and errors as AWS names them', async (t) => {
  const local = await serving(t);
  await provisionLocalStack({ endpointUrl: local.aws.endpointUrl, bucket: BUCKET, endpointName: ENDPOINT });
  const endpoint = await local.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
  t.is(endpoint.EndpointStatus, 'InService');
  for (const customerId of models.archives.keys()) {
    const output = await invoke(local, `run-a/${customerId}.tar.gz`);
    t.regex(output.ContentType ?? '', /^application\/json/);
    t.is(output.InvokedProductionVariant, 'AllTraffic');
    const answer = parse(output);
    t.is(String(answer.customerId), customerId);
    t.is(answer.model, `run-a/${customerId}.tar.gz`);
    t.is(answer.forecast.length, 7);
  }
  // The seed's doubly encoded payload goes through untouched.
  t.is(parse(await invoke(local, 'run-a/0.tar.gz', JSON.stringify('{"period": 3}'))).forecast.length, 3);

  // An unknown endpoint, a missing model and a bad payload raise the SDK's named exceptions.
  const unknownEndpoint = await t.throwsAsync(
    local.runtime.send(new InvokeEndpointCommand({ EndpointName: 'nope', TargetModel: 'run-a/0.tar.gz', Body: new TextEncoder().encode('{"period":7}') })),
    { instanceOf: ValidationError },
  );
  t.is(unknownEndpoint?.message, 'Endpoint nope of account 000000000000 not found.');
  t.is(unknownEndpoint?.$metadata.httpStatusCode, 400);

  const missing = await t.throwsAsync(invoke(local, 'run-a/999.tar.gz'), { instanceOf: ValidationError });
  t.regex(missing?.message ?? '', /Failed to download model data\(bucket: forecast-local, key: models\/run-a\/999\.tar\.gz\)/);

  const bad = await t.throwsAsync<ModelError>(invoke(local, 'run-a/0.tar.gz', '{"period": "soon"}'), { instanceOf: ModelError });
  t.is(bad?.OriginalStatusCode, 400);
  t.is(bad?.$metadata.httpStatusCode, 424);
  t.regex(bad?.message ?? '', /^Received client error \(400\) from primary with message "/);
  t.regex(bad?.OriginalMessage ?? '', /period/);

  const noTarget = await t.throwsAsync(
    local.runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, Body: new TextEncoder().encode('{"period":7}') })),
    { instanceOf: ValidationError },
  );
  t.regex(noTarget?.message ?? '', /TargetModel/);
  const oversized = await t.throwsAsync(invoke(local, 'run-a/0.tar.gz', ' '.repeat(6 * 1024 * 1024 + 1)), { instanceOf: ValidationError });
  t.regex(oversized?.message ?? '', /less than or equal to 6291456/);
  await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/run-a/corrupt.tar.gz', Body: new TextEncoder().encode('not an archive') }));
  const corrupt = await t.throwsAsync(invoke(local, 'run-a/corrupt.tar.gz'), { instanceOf: ValidationError });
  t.regex(corrupt?.message ?? '', /^Failed to extract model data from s3:\/\/forecast-local\/models\/run-a\/corrupt\.tar\.gz: corrupt\.tar\.gz: not a gzip-compressed tar archive/);
  // Errors leave the model serving.
  t.is(parse(await invoke(local, 'run-a/0.tar.gz')).forecast.length, 7);
  // As on an MME's volume: each model unpacked at models/<model name>/model, no scratch folder left behind.
  const configDir = path.join(local.dataDir, 'endpoints', ENDPOINT);
  const modelsDir = path.join(configDir, (await readdir(configDir))[0] ?? '', 'models');
  const names = await readdir(modelsDir);
  t.is(names.length, models.archives.size);
  for (const name of names) {
    t.regex(name, /^[0-9a-f]{32}$/);
    t.deepEqual(await readdir(path.join(modelsDir, name, 'model')), ['model.json']);
  }
});

test('under a small model budget, least recently used models are unloaded and every answer stays right', async (t) => {
  const sizes = await Promise.all([...models.dirs.values()].map(async (dir) => (await readFile(`${dir}/model.json`)).length));
  const budget = Math.max(...sizes) * 2 + 1;
  const local = await serving(t, { modelMemoryBudgetBytes: budget });
  const ids = [...models.archives.keys()];
  for (let round = 0; round < 2; round++) {
    for (const customerId of ids) {
      const answer = parse(await invoke(local, `run-a/${customerId}.tar.gz`));
      t.is(String(answer.customerId), customerId);
    }
  }
  const port = Number(/inference container on port (\d+)/.exec(local.lines.join('\n'))?.[1]);
  const loaded = (await (await fetch(`http://127.0.0.1:${port}/models`)).json()) as { models: unknown[] };
  t.true(loaded.models.length <= 2, `at most 2 models stay loaded under a budget of 2 (loaded: ${loaded.models.length})`);
  t.true(local.lines.filter((line) => line.includes('model-unloaded')).length >= ids.length, 'models were unloaded to stay under the budget');
});

test('a load slower than the wait limit answers ModelNotReadyException, concurrent first calls share one load, and the model then serves', async (t) => {
  const local = await serving(t, { modelLoadWaitMs: 1 });
  await t.throwsAsync(invoke(local, 'run-a/1.tar.gz'), { instanceOf: ModelNotReadyException });
  const answer = await waitFor(
    () => invoke(local, 'run-a/1.tar.gz').then(parse, (error: Error) => error.name),
    (value) => typeof value !== 'string',
    10_000,
    'the model to load',
  );
  t.is(String((answer as { customerId: string }).customerId), '1');

  const results = await Promise.allSettled(Array.from({ length: 8 }, () => invoke(local, 'run-a/2.tar.gz')));
  t.true(results.every((r) => r.status === 'rejected' && r.reason instanceof ModelNotReadyException));
  await waitFor(() => invoke(local, 'run-a/2.tar.gz').then(() => true, () => false), (ok) => ok, 10_000, 'model 2');
  const loads = local.lines.filter((line) => line.includes('"model-loaded"') && line.includes('"customerId":"2"'));
  t.is(loads.length, 1, 'eight concurrent first calls loaded the model once');
});

test('an updated endpoint serves from its new configuration, a restarted server brings it back, a deleted one is no longer found', async (t) => {
  const local = await serving(t);
  t.is(parse(await invoke(local, 'run-a/0.tar.gz')).forecast.length, 7);
  await local.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'forecast-local-config-2',
      ProductionVariants: [{ VariantName: 'Blue', ModelName: localStackNames(ENDPOINT).model, InstanceType: 'ml.c5.large', InitialInstanceCount: 1 }],
    }),
  );
  await local.sagemaker.send(new UpdateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: 'forecast-local-config-2' }));
  t.is((await local.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }))).EndpointStatus, 'Updating');
  const updated = await waitFor(() => local.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT })), (e) => e.EndpointStatus === 'InService', 30_000, 'the update');
  t.is(updated.EndpointConfigName, 'forecast-local-config-2');
  const output = await invoke(local, 'run-a/0.tar.gz');
  t.is(output.InvokedProductionVariant, 'Blue');
  await close(local);

  // A restarted server brings its endpoints back into service.
  const restarted = await startLocal(t, {}, local.dataDir);
  const back = await waitFor(() => restarted.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT })), (e) => e.EndpointStatus === 'InService', 30_000, 'the restarted endpoint');
  t.is(back.EndpointConfigName, 'forecast-local-config-2');
  t.is(parse(await invoke(restarted, 'run-a/1.tar.gz')).forecast.length, 7);

  await restarted.sagemaker.send(new DeleteEndpointCommand({ EndpointName: ENDPOINT }));
  await waitFor(
    () => restarted.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT })).then((e) => e.EndpointStatus, (error: Error) => error.name),
    (status) => status === 'ValidationException',
    10_000,
    'the endpoint to be deleted',
  );
  await t.throwsAsync(invoke(restarted, 'run-a/0.tar.gz'), { instanceOf: ValidationError });
});
