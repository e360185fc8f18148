import * as aws from '@pulumi/aws';
import { tlsOnlyPolicy } from '../../../infra/components/storage.js';
import { policyJson } from '../../../infra/iam.js';
import { forecastFleet } from '../../../infra/program.js';

/**
 * A variant of the program for the offline check: the real stack plus one more bucket that is
 * encrypted, versioned and TLS-only but lacks its public access block.
 */
export function program(): unknown {
  const outputs = forecastFleet();
  const tags = { environment: 'dev', team: 'forecasting' };
  const bucket = new aws.s3.Bucket('exports', { bucketPrefix: 'forecast-exports-', tags });
  new aws.s3.BucketServerSideEncryptionConfiguration('exports-encryption', {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
  });
  new aws.s3.BucketVersioning('exports-versioning', { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } });
  new aws.s3.BucketPolicy('exports-tls-only', { bucket: bucket.id, policy: policyJson(tlsOnlyPolicy(bucket.arn)) });
  return outputs;
}
