import test from 'ava';
import { TRAINING_CUSTOMERS_PER_INSTANCE, trainingInstanceCount } from '../../../runtime/config/training-capacity.js';

const PER_INSTANCE = TRAINING_CUSTOMERS_PER_INSTANCE.default;

test('a night asks for one instance per started block of customers, up to the configured count', (t) => {
  t.is(trainingInstanceCount(2, 1, 500), 1);
  t.is(trainingInstanceCount(2, 500, 500), 1);
  t.is(trainingInstanceCount(2, 501, 500), 2);
  t.is(trainingInstanceCount(10, 2600, 500), 6);
  t.is(trainingInstanceCount(4, 10_000, 500), 4, 'never more than configured');
  t.is(trainingInstanceCount(3, Infinity, 500), 3, 'an unknown count asks for the configured instances');
});

test('never fewer than one instance, nor more instances than customers', (t) => {
  t.is(trainingInstanceCount(2, 0, 500), 1);
  t.is(trainingInstanceCount(5, 3, 1), 3);
});

test('the default keeps the 1,000-customer night sharded on 2 instances and a 1 % incremental night on one', (t) => {
  t.is(trainingInstanceCount(2, 1000, PER_INSTANCE), 2);
  t.is(trainingInstanceCount(2, 20, PER_INSTANCE), 1);
  t.is(trainingInstanceCount(100, 100, PER_INSTANCE), 1, 'a 1 % change of 10,000 customers does not start the fleet');
});
