import test from 'ava';
import { countDecisions, type CustomerOutcome } from '../../../runtime/pipeline/decisions.js';

test('countDecisions counts each decision and the rejected or failed customers that keep an older model', (t) => {
  const outcomes: CustomerOutcome[] = [
    { customerId: '1', decision: 'accepted', servedRunId: 'r2' },
    { customerId: '2', decision: 'rejected', code: 'E_GATE_CHAMPION', servedRunId: 'r1' },
    { customerId: '3', decision: 'rejected', code: 'E_GATE_BASELINE' },
    { customerId: '4', decision: 'failed', servedRunId: 'r1' },
    { customerId: '5', decision: 'unchanged', servedRunId: 'r1' },
    { customerId: '6', decision: 'dropped' },
  ];
  t.deepEqual(countDecisions(outcomes), { accepted: 1, rejected: 2, failed: 1, unchanged: 1, dropped: 1, kept: 2 });
});
