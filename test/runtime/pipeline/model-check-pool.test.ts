import test from 'ava';
import { modelCheckThreads } from '../../../runtime/pipeline/model-check-pool.js';

test('model checks stay on the calling thread for small runs and take one thread per core for large ones', (t) => {
  t.is(modelCheckThreads(6, 2), 0);
  t.is(modelCheckThreads(199, 8), 0);
  t.is(modelCheckThreads(400, 8), 2);
  t.is(modelCheckThreads(1000, 2), 2);
  t.is(modelCheckThreads(10_000, 4), 4);
  t.is(modelCheckThreads(10_000, 1), 1);
});
