import test from 'ava';
import { StackConfigError } from '../../infra/config.js';
import { planStack } from '../../infra/plan/plan-stack.js';

test('planning a stack with bad overrides fails with every bad key named', async (t) => {
  const error = await t.throwsAsync(
    planStack({
      stack: 'dev',
      config: {
        'forecast-fleet:endpointInstanceType': 'ml.c5',
        'forecast-fleet:scheduleTimezone': 'Berlin',
        'forecast-fleet:retentionDays': '-1',
      },
    }),
    { instanceOf: StackConfigError },
  );
  t.deepEqual(
    error?.problems.map((problem) => /^\[([^\]]+)\]/.exec(problem)?.[1]),
    ['forecast-fleet:endpointInstanceType', 'forecast-fleet:scheduleTimezone', 'forecast-fleet:retentionDays'],
  );
});
