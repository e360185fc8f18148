import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { createLocalConsole } from '../../../../runtime/local/console/local-console.js';
import { LogFiles, logSourceOf } from '../../../../runtime/local/console/log-files.js';
import { createPipelineProgress } from '../../../../runtime/local/console/pipeline-progress.js';
import type { PipelineEvent } from '../../../../runtime/pipeline/run-pipeline.js';
import { planStartup } from '../../../../runtime/local/served-models.js';
import type { Manifest } from '../../../../runtime/pipeline/manifest.js';

/** A stream that is not a terminal, like npm start's stdout in a pipe, a file or CI. */
function captured(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const snapshot = (progress: string | undefined) =>
  ({ jobName: 'forecast-x-train', status: 'InProgress', secondaryStatus: 'Training', terminal: false, progress }) as unknown as Extract<
    PipelineEvent,
    { type: 'job-status' }
  >['snapshot'];

test('log lines go to their job or endpoint file; anything else, or a name that is not a SageMaker name, to local-aws', (t) => {
  t.is(logSourceOf('[forecast-20261120-0200-train/algo-1] [train algo-1] 10 customers'), 'forecast-20261120-0200-train');
  t.is(logSourceOf('[forecast-20261120-0200-process] Completed'), 'forecast-20261120-0200-process');
  t.is(logSourceOf('[forecast-local/model] {"event":"listening"}'), 'forecast-local');
  t.is(logSourceOf('local AWS (S3, SageMaker, SageMaker Runtime) listening on http://127.0.0.1:1'), 'local-aws');
  t.is(logSourceOf('[../../etc/passwd] x'), 'local-aws');
  t.is(logSourceOf('[..] x'), 'local-aws');
  t.is(logSourceOf('[a.b/c] x'), 'local-aws');
});

test('LogFiles appends each line to <data-dir>/logs/<source>.log', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'log-files-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const files = new LogFiles(dataDir);
  files.write('[job-1/algo-1] first');
  files.write('[job-1/algo-2] second');
  files.write('[../escape] third');
  await files.close();
  t.deepEqual((await readdir(path.join(dataDir, 'logs'))).sort(), ['job-1.log', 'local-aws.log']);
  t.regex(await readFile(path.join(dataDir, 'logs', 'job-1.log'), 'utf8'), /^\S+Z \[job-1\/algo-1\] first\n\S+Z \[job-1\/algo-2\] second\n$/);
  t.regex(await readFile(path.join(dataDir, 'logs', 'local-aws.log'), 'utf8'), /\[\.\.\/escape\] third/);
});

test('quiet console: service lines only in the files, pipeline progress as one line per step; verbose shows them all', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'local-console-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const quiet = captured();
  const screen = createLocalConsole({ dataDir, verbose: false, stream: quiet.stream });
  screen.serviceLog('[forecast-local/model] {"time":"x","event":"model-loaded"}');
  screen.serviceLog('[job-2/algo-1] Exception thrown at line 12: normal_lpdf');
  screen.onPipelineEvent({ type: 'step-started', step: 'gate' } as PipelineEvent);
  screen.onPipelineEvent({ type: 'step-finished', step: 'gate', seconds: 0.2, summary: '3 accepted' } as PipelineEvent);
  screen.log('bucket    s3://forecast-local');
  await screen.close();
  t.is(quiet.text(), 'gate: done in 0.2 s (3 accepted)\nbucket    s3://forecast-local\n');
  t.is(screen.logDir, path.join(dataDir, 'logs'));
  t.regex(await readFile(path.join(dataDir, 'logs', 'job-2.log'), 'utf8'), /Exception thrown/);

  const loud = captured();
  const verbose = createLocalConsole({ dataDir, verbose: true, stream: loud.stream });
  verbose.serviceLog('[job-2/algo-1] Exception thrown at line 12');
  verbose.onPipelineEvent({ type: 'step-started', step: 'training' });
  await verbose.close();
  t.is(loud.text(), '  [job-2/algo-1] Exception thrown at line 12\ntraining: started\n');
});

test('a long step shows a progress bar as plain lines off a terminal, counting from job progress and progress events', async (t) => {
  const out = captured();
  const progress = createPipelineProgress({ stream: out.stream, plainIntervalMs: 50 });
  progress.onEvent({ type: 'step-started', step: 'training' });
  progress.onEvent({ type: 'job-status', step: 'training', snapshot: snapshot('3/10 models') });
  await sleep(120);
  progress.onEvent({ type: 'job-status', step: 'training', snapshot: snapshot('10/10 models') });
  progress.onEvent({ type: 'step-finished', step: 'training', seconds: 1.5, summary: 'forecast-x-train created' });
  progress.onEvent({ type: 'step-started', step: 'warming' } as PipelineEvent);
  await sleep(120);
  progress.onEvent({ type: 'warming-progress', done: 4, total: 8 } as unknown as PipelineEvent);
  await sleep(80);
  progress.stop();
  const lines = out.text().trimEnd().split('\n');
  t.true(lines.some((line) => /^training \[=+-+\] 3\/10 models · Training \(\d+ s/.test(line)), out.text());
  t.true(lines.includes('training: done in 1.5 s (forecast-x-train created)'), out.text());
  t.true(lines.some((line) => /^warming \[=+-+\] 4\/8 models \(\d+ s/.test(line)), out.text());
  t.false(/\x1b\[/.test(out.text()), 'no terminal escapes off a terminal');
});

test('a short step off a terminal prints only its summary line', (t) => {
  const out = captured();
  const progress = createPipelineProgress({ stream: out.stream, plainIntervalMs: 60_000 });
  progress.onEvent({ type: 'run-started', runId: 'r1', bucket: 'b', endpointName: 'e' });
  progress.onEvent({ type: 'step-started', step: 'publishing' });
  progress.onEvent({ type: 'step-finished', step: 'publishing', seconds: 0.4, summary: 'published' });
  progress.onEvent({ type: 'run-finished', runId: 'r1', status: 'succeeded', seconds: 3, reportUri: 's3://b/runs/r1/report.json' });
  t.is(out.text(), 'run r1: bucket b, endpoint e\npublishing: done in 0.4 s (published)\nrun r1 succeeded in 3.0 s; report s3://b/runs/r1/report.json\n');
});

test('npm start trains only when nothing is published yet or --retrain asks', (t) => {
  const manifest = { formatVersion: 1, runId: 'r1', publishedAt: '2026-11-20T02:10:00Z', endpointName: 'e', models: {} } as Manifest;
  t.deepEqual(planStartup(manifest, false), { train: false, manifest });
  t.deepEqual(planStartup(manifest, true), { train: true, reason: 'retrain' });
  t.deepEqual(planStartup(undefined, false), { train: true, reason: 'no-models' });
});
