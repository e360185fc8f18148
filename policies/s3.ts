import * as aws from '@pulumi/aws';
import type { PolicyResource, StackValidationPolicy } from '@pulumi/policy';
import { parsePolicyDocument } from './support/iam-document.js';
import { companionsOf, describe, type ResourceClass } from './support/related.js';
import { matchesWildcard } from './support/wildcard.js';

/*
 * In @pulumi/aws 7 a bucket's public access block, encryption, versioning and policy are separate
 * resources (the inline Bucket arguments are deprecated), so each S3 rule is a stack policy that
 * finds the bucket's companion through the companion's `bucket` property dependency.
 */

function bucketsOf(resources: readonly PolicyResource[]): PolicyResource[] {
  return resources.filter((r) => r.isType(aws.s3.Bucket));
}

/** The resources of one of `classes` whose `bucket` is this bucket (its `bucket` name or `id`). */
function bucketCompanions(resources: readonly PolicyResource[], bucket: PolicyResource, classes: readonly ResourceClass[]): PolicyResource[] {
  return companionsOf(resources, bucket, classes, 'bucket', ['bucket', 'id']);
}

export const s3BucketPublicAccessBlocked: StackValidationPolicy = {
  name: 's3-bucket-public-access-blocked',
  description: 'Every S3 bucket has a public access block with all four settings on, so no ACL or bucket policy can ever make its models or data public.',
  remediationSteps: 'Add an aws.s3.BucketPublicAccessBlock with bucket: <bucket>.id and blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  validateStack: (args, reportViolation) => {
    const flags = ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'] as const;
    for (const bucket of bucketsOf(args.resources)) {
      const blocks = bucketCompanions(args.resources, bucket, [aws.s3.BucketPublicAccessBlock]);
      if (blocks.length === 0) {
        reportViolation(`Expected a BucketPublicAccessBlock for ${describe(bucket)}, found none.`, bucket.urn);
        continue;
      }
      const complete = blocks.some((block) => flags.every((flag) => block.props[flag] === true));
      if (!complete) {
        const off = flags.filter((flag) => !blocks.some((block) => block.props[flag] === true));
        reportViolation(`Expected ${off.join(', ')} to be true on the public access block of ${describe(bucket)}.`, bucket.urn);
      }
    }
  },
};

const encryptionClasses = [aws.s3.BucketServerSideEncryptionConfiguration, aws.s3.BucketServerSideEncryptionConfigurationV2];

export interface S3EncryptionConfig {
  allowedAlgorithms: string[];
}

export const s3BucketEncrypted: StackValidationPolicy = {
  name: 's3-bucket-encrypted',
  description: 'Every S3 bucket has a default server-side encryption rule with an allowed algorithm.',
  remediationSteps: 'Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket: <bucket>.id and rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] (or another allowed algorithm).',
  enforcementLevel: 'mandatory',
  severity: 'high',
  configSchema: {
    properties: {
      allowedAlgorithms: {
        type: 'array',
        items: { type: 'string', enum: ['AES256', 'aws:kms', 'aws:kms:dsse'] },
        default: ['AES256', 'aws:kms', 'aws:kms:dsse'],
        description: 'Server-side encryption algorithms a bucket may use by default; ["aws:kms"] to require KMS.',
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { allowedAlgorithms } = args.getConfig<S3EncryptionConfig>();
    for (const bucket of bucketsOf(args.resources)) {
      const configurations = bucketCompanions(args.resources, bucket, encryptionClasses);
      const algorithms = configurations.flatMap((c) =>
        ((c.props['rules'] ?? []) as Array<{ applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } }>).map(
          (rule) => rule.applyServerSideEncryptionByDefault?.sseAlgorithm,
        ),
      );
      if (algorithms.length === 0) {
        reportViolation(`Expected a server-side encryption configuration for ${describe(bucket)}, found none.`, bucket.urn);
      } else if (!algorithms.some((a) => a !== undefined && allowedAlgorithms.includes(a))) {
        reportViolation(
          `Expected a default encryption algorithm in [${allowedAlgorithms.join(', ')}] for ${describe(bucket)}, found [${algorithms.map(String).join(', ')}].`,
          bucket.urn,
        );
      }
    }
  },
};

const versioningClasses = [aws.s3.BucketVersioning, aws.s3.BucketVersioningV2];

export const s3BucketVersioned: StackValidationPolicy = {
  name: 's3-bucket-versioned',
  description: 'Every S3 bucket keeps object versions, so an overwritten or deleted manifest or model can be restored.',
  remediationSteps: 'Add an aws.s3.BucketVersioning with bucket: <bucket>.id and versioningConfiguration: { status: "Enabled" }, and a lifecycle rule that expires noncurrent versions.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateStack: (args, reportViolation) => {
    for (const bucket of bucketsOf(args.resources)) {
      const versionings = bucketCompanions(args.resources, bucket, versioningClasses);
      const statuses = versionings.map(
        (v) => (v.props['versioningConfiguration'] as { status?: string } | undefined)?.status,
      );
      if (!statuses.includes('Enabled')) {
        reportViolation(
          `Expected versioning status "Enabled" for ${describe(bucket)}, found ${statuses.length === 0 ? 'no BucketVersioning' : statuses.map(String).join(', ')}.`,
          bucket.urn,
        );
      }
    }
  },
};

/** Whether a statement denies every principal any S3 action when the request is not over TLS. */
function deniesInsecureTransport(statement: ReturnType<typeof parsePolicyDocument>[number]): boolean {
  if (statement.effect !== 'Deny') return false;
  const everyone =
    statement.principals.get('*')?.includes('*') === true || statement.principals.get('AWS')?.includes('*') === true;
  const allS3 = statement.actions.some((a) => matchesWildcard(a, 's3:GetObject') && matchesWildcard(a, 's3:PutObject'));
  const secureTransport = statement.conditions.get('Bool')?.get('aws:SecureTransport') ?? [];
  return everyone && allS3 && secureTransport.includes('false');
}

export const s3BucketTlsOnly: StackValidationPolicy = {
  name: 's3-bucket-tls-only',
  description: 'Every S3 bucket has a bucket policy that denies any request not sent over TLS.',
  remediationSteps: 'Add an aws.s3.BucketPolicy with bucket: <bucket>.id and a statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [<arn>, <arn>/*], Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateStack: (args, reportViolation) => {
    for (const bucket of bucketsOf(args.resources)) {
      const policies = bucketCompanions(args.resources, bucket, [aws.s3.BucketPolicy]);
      if (policies.length === 0) {
        reportViolation(`Expected a BucketPolicy denying non-TLS requests for ${describe(bucket)}, found no bucket policy.`, bucket.urn);
        continue;
      }
      // The policy text usually embeds the bucket ARN: unknown during the first preview, which the
      // engine then reports as "can't run during preview" instead of a false violation.
      const documents = policies.map((p) => p.props['policy'] as unknown);
      const enforced = documents.some((d) => parsePolicyDocument(d).some(deniesInsecureTransport));
      if (!enforced) {
        reportViolation(
          `Expected the bucket policy of ${describe(bucket)} to deny s3:* to "*" when aws:SecureTransport is "false", found no such statement.`,
          bucket.urn,
        );
      }
    }
  },
};

export const s3BucketOwnerEnforced: StackValidationPolicy = {
  name: 's3-bucket-owner-enforced',
  description: 'Every S3 bucket disables ACLs (object ownership BucketOwnerEnforced), so access is decided by IAM and the bucket policy alone and every object, whoever wrote it, belongs to the account.',
  remediationSteps: 'Add an aws.s3.BucketOwnershipControls with bucket: <bucket>.id and rule: { objectOwnership: "BucketOwnerEnforced" }.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateStack: (args, reportViolation) => {
    for (const bucket of bucketsOf(args.resources)) {
      const controls = bucketCompanions(args.resources, bucket, [aws.s3.BucketOwnershipControls]);
      const ownership = controls.map((c) => (c.props['rule'] as { objectOwnership?: string } | undefined)?.objectOwnership);
      if (!ownership.includes('BucketOwnerEnforced')) {
        reportViolation(
          `Expected object ownership BucketOwnerEnforced for ${describe(bucket)}, found ${ownership.length === 0 ? 'no BucketOwnershipControls' : ownership.map(String).join(', ')}.`,
          bucket.urn,
        );
      }
    }
  },
};

const lifecycleClasses = [aws.s3.BucketLifecycleConfiguration, aws.s3.BucketLifecycleConfigurationV2];

interface LifecycleRule {
  status?: string;
  noncurrentVersionExpiration?: { noncurrentDays?: number };
}

export const s3BucketExpiresNoncurrentVersions: StackValidationPolicy = {
  name: 's3-bucket-expires-noncurrent-versions',
  description: 'Every S3 bucket has an enabled lifecycle rule that expires noncurrent object versions; with versioning on, every nightly overwrite (manifests, reports) otherwise keeps its old version, and its cost, forever.',
  remediationSteps: 'Add an aws.s3.BucketLifecycleConfiguration with bucket: <bucket>.id and a rule { status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: <days> } }.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateStack: (args, reportViolation) => {
    for (const bucket of bucketsOf(args.resources)) {
      const configurations = bucketCompanions(args.resources, bucket, lifecycleClasses);
      const rules = configurations.flatMap((c) => (c.props['rules'] ?? []) as LifecycleRule[]);
      const expiring = rules.some((r) => r.status === 'Enabled' && r.noncurrentVersionExpiration?.noncurrentDays !== undefined);
      if (!expiring) {
        reportViolation(
          `Expected an enabled lifecycle rule with noncurrentVersionExpiration for ${describe(bucket)}, found ${configurations.length === 0 ? 'no lifecycle configuration' : `${rules.length} rules without one`}.`,
          bucket.urn,
        );
      }
    }
  },
};

export const s3Policies = [
  s3BucketPublicAccessBlocked,
  s3BucketEncrypted,
  s3BucketVersioned,
  s3BucketTlsOnly,
  s3BucketOwnerEnforced,
  s3BucketExpiresNoncurrentVersions,
];
