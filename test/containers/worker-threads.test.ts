import test from 'ava';
import { parseHyperparameters } from '../../containers/training/hyperparameters.js';
import { CUSTOMERS_PER_WORKER_THREAD, customersPerWorkerThread, workerThreadCount } from '../../containers/training/worker-threads.js';

const EXACT = CUSTOMERS_PER_WORKER_THREAD.exact;

test('a host starts one worker thread per started block of customers, up to its CPUs', (t) => {
  t.is(workerThreadCount(2, 1, EXACT), 1);
  t.is(workerThreadCount(2, 20, EXACT), 1, 'a small incremental shard trains on one thread');
  t.is(workerThreadCount(2, EXACT, EXACT), 1);
  t.is(workerThreadCount(2, EXACT + 1, EXACT), 2);
  t.is(workerThreadCount(2, 500, EXACT), 2, 'a 500-customer shard on both CPUs');
  t.is(workerThreadCount(8, 1000, EXACT), 8);
  t.is(workerThreadCount(16, 300, 50), 6);
});

test('the workers hyperparameter stays the upper bound, and nothing to train starts no thread', (t) => {
  t.is(workerThreadCount(1, 1000, EXACT), 1);
  t.is(workerThreadCount(3, 2, 1), 2, 'never more threads than customers');
  t.is(workerThreadCount(4, 0, EXACT), 0);
});

test('customers fitted with Stan, slower, share fewer to a thread', (t) => {
  t.is(customersPerWorkerThread(parseHyperparameters({}, {})), EXACT);
  t.is(customersPerWorkerThread(parseHyperparameters({ optimizer: 'stan' }, {})), CUSTOMERS_PER_WORKER_THREAD.stan);
  t.is(customersPerWorkerThread(parseHyperparameters({ seasonality_mode: 'multiplicative' }, {})), CUSTOMERS_PER_WORKER_THREAD.stan, 'no exact solver for it');
  t.true(CUSTOMERS_PER_WORKER_THREAD.stan < EXACT);
});
