import test from 'ava';
import { CUSTOMERS_PER_WORKER_THREAD, workerThreadCount } from '../../containers/training/worker-threads.js';

test('a host starts one worker thread per started block of customers, up to its CPUs', (t) => {
  t.is(workerThreadCount(2, 1), 1);
  t.is(workerThreadCount(2, 20), 1, 'a small incremental shard trains on one thread');
  t.is(workerThreadCount(2, CUSTOMERS_PER_WORKER_THREAD), 1);
  t.is(workerThreadCount(2, CUSTOMERS_PER_WORKER_THREAD + 1), 2);
  t.is(workerThreadCount(8, 1000), 8);
  t.is(workerThreadCount(2, 500), 2, 'a 500-customer shard on both CPUs');
  t.is(workerThreadCount(16, 300, 50), 6);
});

test('the workers hyperparameter stays the upper bound, and nothing to train starts no thread', (t) => {
  t.is(workerThreadCount(1, 1000), 1);
  t.is(workerThreadCount(3, 2, 1), 2, 'never more threads than customers');
  t.is(workerThreadCount(4, 0), 0);
});
