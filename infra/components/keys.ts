import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface KeysArgs {
  /** The key's alias, without the `alias/` prefix. */
  readonly endpointKeyAlias: string;
}

/**
 * The customer managed KMS key that encrypts the endpoint instances' storage volumes, where the
 * multi-model endpoint caches customer models. Rotated yearly; its default key policy leaves access
 * to IAM policies in this account (the SageMaker role's).
 */
export class Keys extends pulumi.ComponentResource {
  readonly endpointKey: aws.kms.Key;
  readonly endpointKeyAlias: aws.kms.Alias;

  constructor(name: string, args: KeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Keys', name, {}, opts);
    this.endpointKey = new aws.kms.Key(
      `${name}-endpoint`,
      { description: 'Multi-model endpoint storage volumes (cached customer models)', enableKeyRotation: true, deletionWindowInDays: 30 },
      { parent: this },
    );
    this.endpointKeyAlias = new aws.kms.Alias(
      `${name}-endpoint`,
      { name: `alias/${args.endpointKeyAlias}`, targetKeyId: this.endpointKey.keyId },
      { parent: this },
    );
    this.registerOutputs({ endpointKeyArn: this.endpointKey.arn });
  }
}
