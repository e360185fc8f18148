import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { InternalS3 } from '../../../runtime/local/s3/internal-client.js';
import { createS3Service } from '../../../runtime/local/s3/s3-service.js';
import { CheckpointSync } from '../../../runtime/local/sagemaker/checkpoint-sync.js';
import { waitFor } from './local-aws-fixture.js';

/** Checkpoint sync on real files and local S3's store: restore, new files while running, changed files, the end. */

const BUCKET = 'checkpoints';

async function setUp(t: ExecutionContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'checkpoint-sync-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 's3', BUCKET), { recursive: true });
  const s3 = new InternalS3((await createS3Service(dir, () => {})).objects);
  const localDir = path.join(dir, 'algo-1', 'checkpoints');
  const read = async (key: string) => Buffer.from(await s3.getBytes(BUCKET, key)).toString();
  const readOrNone = (key: string) => read(key).catch(() => undefined);
  /** Written as the training container does: a dot-file renamed into place. */
  const put = async (name: string, text: string) => {
    const file = path.join(localDir, name);
    const partial = path.join(path.dirname(file), `.${path.basename(file)}.partial`);
    await writeFile(partial, text);
    await rename(partial, file);
  };
  const sync = new CheckpointSync(s3, localDir, { bucket: BUCKET, key: 'models/r1/' }, () => {});
  t.teardown(() => sync.finish());
  return { dir, s3, localDir, read, readOrNone, put, sync };
}

test('restore copies the earlier checkpoints in; new files go up while the job runs, changed ones within a full scan, the rest at the end', async (t) => {
  const { dir, s3, localDir, read, readOrNone, put, sync } = await setUp(t);
  const earlier = path.join(dir, 'earlier.tar.gz');
  await writeFile(earlier, 'first night');
  await s3.upload(BUCKET, 'models/r1/0.tar.gz', earlier);
  t.is(await sync.restore(), 1);
  t.is(await readFile(path.join(localDir, '0.tar.gz'), 'utf8'), 'first night');

  sync.start(10);
  await put('1.tar.gz', 'one');
  t.is(await waitFor(() => readOrNone('models/r1/1.tar.gz'), (v) => v === 'one', 5000, 'a new checkpoint'), 'one');
  await put('1.tar.gz', 'one, refitted');
  t.is(await waitFor(() => readOrNone('models/r1/1.tar.gz'), (v) => v === 'one, refitted', 5000, 'a changed checkpoint'), 'one, refitted');
  await mkdir(path.join(localDir, 'sub'));
  await put('sub/2.tar.gz', 'two');
  await writeFile(path.join(localDir, '.3.tar.gz.partial'), 'half-written');
  await put('0.tar.gz', 'restored, then replaced');
  await sync.finish();
  t.is(await read('models/r1/sub/2.tar.gz'), 'two');
  t.is(await read('models/r1/0.tar.gz'), 'restored, then replaced');
  t.deepEqual(await s3.listKeys(BUCKET, 'models/r1/'), ['models/r1/0.tar.gz', 'models/r1/1.tar.gz', 'models/r1/sub/2.tar.gz'], 'writers\' dot-files never go up');
});
