import test from 'ava';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { CURRENT_MANIFEST_KEY, historyManifestKey, parseManifest } from '../../../runtime/pipeline/manifest.js';
import { main as rollbackMain } from '../../../runtime/pipeline/rollback-cli.js';
import { rollback, RollbackError, historyRunIds } from '../../../runtime/pipeline/rollback.js';
import { runPipeline } from '../../../runtime/pipeline/run-pipeline.js';
import { startLocalPipeline, type LocalPipeline } from './local-pipeline.js';

/** Rollback through local mode: two published nights, then the CLI with the SDK's standard environment. */

const CUSTOMERS = 3;
const NIGHTS = ['2026-11-26T01:00:00Z', '2026-11-27T01:00:00Z'] as const;
const [N1, N2] = ['20261126-0200', '20261127-0200'] as const;
const FAST_POLL = { minDelayMs: 100, maxDelayMs: 500 };

async function cli(local: LocalPipeline, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ENDPOINT_URL: local.endpointUrl, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
  try {
    const code = await rollbackMain(args, { env: { [PIPELINE_ENV.bucket]: local.bucket }, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  } finally {
    process.env = saved;
  }
}

async function current(local: LocalPipeline) {
  return parseManifest(await local.getText(CURRENT_MANIFEST_KEY));
}

test.serial('rollback to the previous night, to a run, for one customer; refused for a missing object or a manifest changed under it', async (t) => {
  const local = await startLocalPipeline(t);
  await local.putRawData({ customers: CUSTOMERS, days: 365, noise: 0.02, weekly: 0.1 });
  await runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[0] }), deps: local.deps, backoff: FAST_POLL });
  await local.putRawData({ customers: CUSTOMERS, days: 366, noise: 0.02, weekly: 0.1 });
  await runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[1] }), deps: local.deps, backoff: FAST_POLL });
  const night1 = parseManifest(await local.getText(historyManifestKey(N1)));
  const night2 = await current(local);
  t.is(night2.runId, N2);

  // --previous: every customer back to night 1, recorded in the history under a later id.
  const previous = await cli(local, ['--previous']);
  t.is(previous.code, 0, previous.stderr);
  t.regex(previous.stderr, new RegExp(`${N2} → ${N1}, ${CUSTOMERS} customer\\(s\\) change model`));
  t.regex(previous.stderr, new RegExp(`all ${CUSTOMERS} model objects exist`));
  const back = await current(local);
  t.deepEqual(back.models, night1.models);
  t.like(back.rollback, { fromRunId: N2, toRunId: N1, baseRunId: N1 });
  t.true(back.runId.startsWith(`${N2}-rollback-`) && back.runId > N2);
  t.deepEqual(parseManifest(await local.getText(historyManifestKey(back.runId))), back);
  // Nothing before night 1: --previous says so and changes nothing.
  const none = await cli(local, ['--previous']);
  t.is(none.code, 1);
  t.regex(none.stderr, /no night was published before 20261126-0200.*\[E_ROLLBACK_NO_PREVIOUS\]/);
  // A late rerun of night 2 does not undo the rollback.
  const rerun = await runPipeline({ config: local.config({ [PIPELINE_ENV.scheduledTime]: NIGHTS[1] }), deps: local.deps, backoff: FAST_POLL });
  t.is(rerun.publishOutcome, 'superseded');
  t.deepEqual(await current(local), back);

  // --to: back to night 2 whole; --customer: customer 1 alone to night 1.
  t.is((await cli(local, ['--to', N2])).code, 0);
  t.deepEqual((await current(local)).models, night2.models);
  const one = await cli(local, ['--customer', '1', '--to', N1]);
  t.is(one.code, 0, one.stderr);
  const mixed = await current(local);
  t.deepEqual(mixed.models['1'], night1.models['1']);
  t.deepEqual(mixed.models['0'], night2.models['0']);
  t.like(mixed.rollback, { toRunId: N1, customerId: '1', baseRunId: N2 });

  // --list: every manifest, oldest first, the current one marked.
  const list = await cli(local, ['--list']);
  t.is(list.code, 0);
  const rows = list.stdout.trim().split('\n');
  t.regex(rows[0] ?? '', /run\s+published\s+customers\s+rejected\s+median MAE/);
  t.regex(rows[1] ?? '', new RegExp(`^\\s+${N1}\\s+\\S+\\s+${CUSTOMERS}\\s+0\\s+\\d+\\.\\d\\d`));
  t.regex(rows.at(-1) ?? '', new RegExp(`^\\*\\s+${N2}-rollback-\\S+ .* rollback of ${N2}-rollback-\\S+ to ${N1} for customer 1$`));
  t.is(rows.length, 1 + 2 + 3);

  // A night whose model object was deleted: refused, nothing changed.
  const before = await local.getText(CURRENT_MANIFEST_KEY);
  const historyBefore = await historyRunIds(local.deps.s3, local.bucket);
  await local.deps.s3.send(new DeleteObjectCommand({ Bucket: local.bucket, Key: `models/${N1}/2.tar.gz` }));
  const missing = await cli(local, ['--to', N1]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, new RegExp(`1 model object\\(s\\) the rollback to ${N1} would serve do not exist \\(s3://forecast-test/models/${N1}/2\\.tar\\.gz\\); nothing was switched \\[E_ROLLBACK_MISSING_OBJECTS\\]`));
  t.is(await local.getText(CURRENT_MANIFEST_KEY), before);
  t.deepEqual(await historyRunIds(local.deps.s3, local.bucket), historyBefore);
  // Unknown run and bad input.
  t.regex((await cli(local, ['--to', '20261001-0200'])).stderr, /run 20261001-0200 has no history manifest .*published nights: 20261126-0200, 20261127-0200 \[E_ROLLBACK_UNKNOWN_RUN\]/);
  t.is((await cli(local, ['--to', '../current'])).code, 1);
  t.is((await cli(local, ['--previous', '--list'])).code, 2);

  // current.json replaced while the rollback checks and warms: refused, the newer manifest stays.
  const conflict = rollback({
    ...local.deps,
    bucket: local.bucket,
    target: { kind: 'run', toRunId: N2 },
    warmModels: 10,
    onEvent: async (event) => {
      if (event.type === 'checked') {
        await local.deps.s3.send(new PutObjectCommand({ Bucket: local.bucket, Key: CURRENT_MANIFEST_KEY, Body: JSON.stringify({ ...night2, publishedAt: 'later' }) }));
      }
    },
  });
  const error = await t.throwsAsync(conflict, { instanceOf: RollbackError });
  t.is(error?.code, 'E_ROLLBACK_CONFLICT');
  t.is((await current(local)).publishedAt, 'later');
  t.deepEqual(await historyRunIds(local.deps.s3, local.bucket), historyBefore);
});
