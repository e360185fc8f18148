import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readModelArchive } from '../../containers/shared/model-artifact.js';
import { runTrainingContainer, writeTrainingJob } from '../containers/inference-fixtures.js';

/** Whether this machine lets the test mount a small tmpfs (root with CAP_SYS_ADMIN, as on the dev box). */
function canMountTmpfs(): boolean {
  const probe = path.join(os.tmpdir(), `tmpfs-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
}

// A real ENOSPC needs a tmpfs, which only root may mount (CI runs as root); elsewhere the skip says why.
const tmpfs = canMountTmpfs();
const register = tmpfs ? test : test.skip;

register(`checkpoint folder out of space (a real ENOSPC on a 40 KiB tmpfs): the job fails naming it, written checkpoints stay whole, and a rerun with room resumes from them${tmpfs ? '' : ' [skipped: mount -t tmpfs is refused here; run as root]'}`, async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'i9-enospc-'));
  const checkpoints = path.join(root, 'checkpoints');
  let mounted = false;
  t.teardown(async () => {
    if (mounted) execFileSync('umount', [checkpoints]);
    await rm(root, { recursive: true, force: true });
  });
  const customers = await writeTrainingJob(root, 12, { run_id: 'run-enospc', workers: '1' });

  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40k', 'tmpfs', checkpoints]);
  mounted = true;
  const full = await runTrainingContainer(root);
  t.not(full.code, 0, 'the job fails');
  t.regex(full.failure, /ENOSPC: no space left on device/);
  const written = (await readdir(checkpoints)).sort();
  t.true(written.length > 0 && written.length < customers.length, `some checkpoints fit: ${written.join(', ')}`);
  t.true(written.every((name) => /^\d+\.tar\.gz$/.test(name)), `no partial files are left: ${written.join(', ')}`);
  for (const name of written) await t.notThrowsAsync(readModelArchive(path.join(checkpoints, name)), `${name} reads back whole`);

  // Room again (SageMaker's checkpoint sync restores the same files onto a new volume).
  const saved = path.join(root, 'saved');
  await cp(checkpoints, saved, { recursive: true });
  execFileSync('umount', [checkpoints]);
  mounted = false;
  await cp(saved, checkpoints, { recursive: true });
  const rerun = await runTrainingContainer(root);
  t.is(rerun.code, 0, rerun.failure);
  t.is((await readdir(checkpoints)).filter((name) => name.endsWith('.tar.gz')).length, customers.length);
  for (const name of written) t.deepEqual(await readFile(path.join(checkpoints, name)), await readFile(path.join(saved, name)), `${name} was reused, not retrained`);
});
