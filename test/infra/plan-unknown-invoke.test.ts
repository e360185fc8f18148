import test from 'ava';
import * as aws from '@pulumi/aws';
import { planStack } from '../../infra/plan/plan-stack.js';

test('the plan fails loudly, naming the token, when the program calls an invoke the mocks do not know', async (t) => {
  const error = await t.throwsAsync(
    planStack({
      stack: 'dev',
      program: () => {
        const vpc = aws.ec2.getVpcOutput({ default: true });
        return { vpcId: vpc.id };
      },
    }),
  );
  t.is(error?.name, 'PlanError');
  t.regex(error?.message ?? '', /no mock for the invoke aws:ec2\/getVpc:getVpc/);
});
