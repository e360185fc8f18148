import test from 'ava';
import { hasLocalInstanceStorage } from '../../../runtime/config/sagemaker-limits.js';

test('instance types with local NVMe storage are told apart from EBS-backed ones', (t) => {
  for (const type of ['ml.c5d.xlarge', 'ml.m5d.large', 'ml.g4dn.xlarge', 'ml.g5.2xlarge', 'ml.p4d.24xlarge', 'ml.c6id.large', 'ml.m5ad.xlarge', 'ml.p3dn.24xlarge', 'ml.trn1.32xlarge']) {
    t.true(hasLocalInstanceStorage(type), type);
  }
  for (const type of ['ml.c5.xlarge', 'ml.m5.large', 'ml.c5n.2xlarge', 'ml.t2.medium', 'ml.c6i.large', 'ml.m6g.large', 'ml.inf1.xlarge', 'not-a-type']) {
    t.false(hasLocalInstanceStorage(type), type);
  }
});
