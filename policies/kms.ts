import * as aws from '@pulumi/aws';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';

export const kmsKeyRotationEnabled: ResourceValidationPolicy = {
  name: 'kms-key-rotation-enabled',
  description: 'Symmetric KMS keys rotate their key material automatically, so a key that encrypts customer models is not used unchanged for years.',
  remediationSteps: 'Set enableKeyRotation: true on the aws.kms.Key (optionally rotationPeriodInDays).',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateResource: validateResourceOfType(aws.kms.Key, (key, args, reportViolation) => {
    // AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot rotate.
    const spec = key.customerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    if (spec !== 'SYMMETRIC_DEFAULT') args.notApplicable(`key spec ${spec} cannot rotate`);
    if (key.enableKeyRotation !== true) {
      reportViolation(`Expected enableKeyRotation true, found ${String(key.enableKeyRotation ?? 'unset (off)')}.`);
    }
  }),
};

export const kmsPolicies = [kmsKeyRotationEnabled];
