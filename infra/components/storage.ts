import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BUCKET_LAYOUT } from '../bucket-layout.js';
import { policyDocument, policyJson } from '../iam.js';

export interface StorageArgs {
  /** The bucket's name starts with this; the provider appends a unique suffix. */
  readonly bucketPrefix: string;
  /** Days before `runs/` objects expire (the backstop of the pipeline's own cleanup). */
  readonly retentionDays: number;
  /** Days before noncurrent versions of any object expire: how long deleted or erased data stays recoverable. */
  readonly noncurrentVersionDays: number;
}

/**
 * The stack's one bucket: raw drops, runs, versioned models and manifests. Versioned, encrypted,
 * never public, owner-enforced, reachable only over TLS, with expiry for per-run scratch data and
 * old versions. Models are not expired here: the pipeline's cleanup deletes only those no kept
 * manifest references (a manifest may point at any earlier run's model).
 */
export class Storage extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly ownership: aws.s3.BucketOwnershipControls;
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  readonly versioning: aws.s3.BucketVersioning;
  readonly lifecycle: aws.s3.BucketLifecycleConfiguration;
  readonly policy: aws.s3.BucketPolicy;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Storage', name, {}, opts);
    const parent = { parent: this };

    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix: args.bucketPrefix, forceDestroy: false }, parent);
    const bucket = this.bucket.id;
    this.ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      parent,
    );
    this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    this.encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
      parent,
    );
    this.versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: 'Enabled' } }, parent);
    this.lifecycle = new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      { bucket, rules: lifecycleRules(args.retentionDays, args.noncurrentVersionDays) },
      // Lifecycle rules on noncurrent versions need versioning in place first.
      { parent: this, dependsOn: [this.versioning] },
    );
    this.policy = new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      { bucket, policy: policyJson(tlsOnlyPolicy(this.bucket.arn)) },
      // S3 rejects a bucket policy while the public access block is still being applied.
      { parent: this, dependsOn: [this.publicAccessBlock] },
    );

    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}

export function lifecycleRules(retentionDays: number, noncurrentVersionDays: number): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    {
      id: 'expire-runs',
      status: 'Enabled',
      filter: { prefix: BUCKET_LAYOUT.runs },
      expiration: { days: retentionDays },
    },
    {
      id: 'expire-noncurrent-versions',
      status: 'Enabled',
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: noncurrentVersionDays },
      expiration: { expiredObjectDeleteMarker: true },
    },
    {
      id: 'abort-incomplete-uploads',
      status: 'Enabled',
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    },
  ];
}

export function tlsOnlyPolicy(bucketArn: pulumi.Input<string>) {
  return policyDocument([
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      // AWS's TLS-only pattern: deny every S3 action, so no action is left reachable over plain HTTP.
      Action: ['s3:*'],
      Resource: [bucketArn, pulumi.interpolate`${bucketArn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ]);
}
