import * as pulumi from '@pulumi/pulumi';

/**
 * IAM policy documents as typed data. Every Allow statement names its actions explicitly (no `*` in
 * an action); a `Resource: "*"` appears only where AWS has no resource-level permission for the action,
 * and such statements say so in their Sid.
 */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  /** Only in resource policies (a bucket policy); identity policies have none. */
  readonly Principal?: '*';
  readonly Action: readonly string[];
  readonly Resource: pulumi.Input<string> | readonly pulumi.Input<string>[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, pulumi.Input<string> | readonly pulumi.Input<string>[]>>>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

export function policyDocument(statements: readonly PolicyStatement[]): PolicyDocument {
  for (const statement of statements) {
    // A Deny may cover every action (the TLS-only bucket policy); a grant never does.
    if (statement.Effect === 'Deny') continue;
    const wildcard = statement.Action.find((action) => action.includes('*'));
    if (wildcard !== undefined) throw new Error(`IAM statement ${statement.Sid} grants the wildcard action ${wildcard}; name each action`);
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** The JSON text of a document whose values may still be outputs. */
export function policyJson(document: PolicyDocument | TrustPolicyDocument): pulumi.Output<string> {
  return pulumi.jsonStringify(pulumi.output(document));
}

export interface TrustPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: 'Allow';
    readonly Principal: { readonly Service: string };
    readonly Action: readonly ['sts:AssumeRole'];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, pulumi.Input<string>>>>>;
  }[];
}

/**
 * Trust policy letting one AWS service assume the role only on behalf of this account, and where
 * the service sets it, only for the named source (confused-deputy guard): `aws:SourceAccount`
 * always, `aws:SourceArn` (ArnLike) when given.
 */
export function assumeRolePolicy(service: string, sourceAccount: pulumi.Input<string>, sourceArn?: pulumi.Input<string>): TrustPolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AssumedByService',
        Effect: 'Allow',
        Principal: { Service: service },
        Action: ['sts:AssumeRole'],
        Condition: {
          StringEquals: { 'aws:SourceAccount': sourceAccount },
          ...(sourceArn === undefined ? {} : { ArnLike: { 'aws:SourceArn': sourceArn } }),
        },
      },
    ],
  };
}

/** The ARN pieces every policy needs, resolved once per stack. */
export interface AccountContext {
  readonly partition: pulumi.Input<string>;
  readonly region: string;
  readonly accountId: pulumi.Input<string>;
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` with outputs allowed in every part. */
export function arn(context: AccountContext, service: string, resource: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.interpolate`arn:${context.partition}:${service}:${context.region}:${context.accountId}:${resource}`;
}
