import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sagemakerPaths } from '../../containers/shared/sagemaker-paths.js';
import { runTrainingJob } from '../../containers/training/job.js';
import { writeTrainingChannel } from './training-fixture.js';

test("on the seed's data set the mean holdout error beats a seasonal-naive forecast", async (t) => {
  t.timeout(240_000, 'sixty noise-free fits; slow only on a crowded machine');
  const base = await mkdtemp(path.join(os.tmpdir(), 'training-accuracy-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  // The seed's data set exactly (no weekly pattern, no noise), 30 of its 1000 customers.
  await writeTrainingChannel(base, { customers: 30 });
  const { summary } = await runTrainingJob(sagemakerPaths(base), { signal: new AbortController().signal, log: () => {} });
  t.is(summary.customers.trained, 30);
  const { meanMae, meanSeasonalNaiveMae } = summary.holdout;
  t.log(`seed data: mean holdout MAE ${meanMae?.toFixed(3)} vs seasonal-naive ${meanSeasonalNaiveMae?.toFixed(3)}`);
  t.true((meanMae as number) < (meanSeasonalNaiveMae as number));
});
