import test from 'ava';
import * as aws from '@pulumi/aws';
import { planStack } from '../../infra/plan/plan-stack.js';

test('the plan fails loudly, naming type and resource, when the program declares a type the mocks do not know', async (t) => {
  const error = await t.throwsAsync(
    planStack({
      stack: 'dev',
      program: () => {
        const queue = new aws.sqs.Queue('dlq');
        new aws.sqs.QueuePolicy('dlq-policy', { queueUrl: queue.url, policy: '{}' });
      },
    }),
  );
  t.is(error?.name, 'PlanError');
  t.regex(error?.message ?? '', /no mock for resource type aws:sqs\/queuePolicy:QueuePolicy \(resource "dlq-policy"\)/);
});
