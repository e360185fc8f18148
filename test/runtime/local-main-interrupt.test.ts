import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { TRAINING_CUSTOMERS_PER_INSTANCE } from '../../runtime/config/training-capacity.js';
import { compiledRunArgs } from '../../runtime/local/sagemaker/container-build.js';
import { isAlive, recordedPids } from './local-main-helpers.js';

const root = path.resolve(import.meta.dirname, '../..');

test('Ctrl-C while the pipeline trains stops the training instances and the endpoint, and exits 130', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'local-main-interrupt-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    // --verbose: the training instances' own lines tell when training is under way.
    // One customer more than an instance takes, so the night starts both instances.
    [...compiledRunArgs(root, 'runtime/local/main.ts'), '--port', '0', '--data-dir', dataDir, '--customers', String(TRAINING_CUSTOMERS_PER_INSTANCE.default + 1), '--instances', '2', '--verbose'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/\[train algo-\d\] \d+ customers/.test(stdout)) resolve();
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code} before training:\n${stdout}\n${stderr}`)));
  });
  const pids = await recordedPids(dataDir);
  t.true(pids.length >= 3, `two training instances and the inference container are running (${pids.length} pids)`);
  child.kill('SIGINT');
  t.is(await exited, 130, stderr);
  t.regex(stdout, /SIGINT: stopping local mode/);
  t.notRegex(stdout, /Serving on/);
  for (const pid of pids) t.false(isAlive(pid), `child ${pid} stopped`);
});
