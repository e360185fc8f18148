import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..');

/** `npm run container -- <args>` without npm's own output: the same tsx entrypoint. */
async function container(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'containers/cli.ts', ...args], { cwd: repo, env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

test('an unknown or missing command gets the usage and exit code 2', async (t) => {
  for (const args of [['fit'], []]) {
    const { code, stderr } = await container(args);
    t.is(code, 2);
    t.regex(stderr, args.length ? /unknown command "fit"/ : /missing command/);
    t.regex(stderr, /usage: container <process\|train\|serve\|pipeline> \[args\]/);
  }
});

test('train dispatches to the training container, with /opt/ml under SAGEMAKER_BASE_DIR', async (t) => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const { code } = await container(['train'], { SAGEMAKER_BASE_DIR: base });
  t.is(code, 1);
  t.regex(await readFile(path.join(base, 'output', 'failure'), 'utf8'), /the train channel is missing: no folder .*input\/data\/train/);
  t.is((await container(['train', '--fast'], { SAGEMAKER_BASE_DIR: base })).code, 2);
});
