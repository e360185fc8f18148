import test from 'ava';
import * as aws from '@pulumi/aws';
import { planStack } from '../../infra/plan/plan-stack.js';

test('the plan fails loudly, naming type and resource, when the program declares a type the mocks do not know', async (t) => {
  const error = await t.throwsAsync(
    planStack({
      stack: 'dev',
      program: () => {
        const topic = new aws.sns.Topic('alarms');
        new aws.sns.TopicPolicy('alarms-policy', { arn: topic.arn, policy: '{}' });
      },
    }),
  );
  t.is(error?.name, 'PlanError');
  t.regex(error?.message ?? '', /no mock for resource type aws:sns\/topicPolicy:TopicPolicy \(resource "alarms-policy"\)/);
});
