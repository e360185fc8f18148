import { createHash } from 'node:crypto';
import type * as pulumi from '@pulumi/pulumi';

/** The fake account the offline plan deploys into. */
export interface PlanAccount {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
}

export const PLAN_ACCOUNT_ID = '123456789012';

type State = Record<string, unknown>;
type Inputs = Record<string, unknown>;
interface Outputs {
  readonly id: string;
  readonly state: State;
}

/** What each resource type reports after creation, as AWS and the providers would. */
type OutputsFor = (name: string, inputs: Inputs, account: PlanAccount) => Outputs;

/** Pulumi's auto-naming: the logical name, a hyphen and seven random hex digits (deterministic here). */
export function autoName(name: string, salt = ''): string {
  return `${name}-${hex(`${salt}:${name}`, 7)}`;
}

function hex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function str(inputs: Inputs, key: string): string | undefined {
  const value = inputs[key];
  return typeof value === 'string' ? value : undefined;
}

function regional(a: PlanAccount, service: string, resource: string): string {
  return `arn:${a.partition}:${service}:${a.region}:${a.accountId}:${resource}`;
}

/** A resource whose id is its own name, given or auto-named. */
function named(service: string, resourcePath: (name: string) => string, nameKey = 'name'): OutputsFor {
  return (logical, inputs, a) => {
    const name = str(inputs, nameKey) ?? autoName(logical, service);
    return { id: name, state: { [nameKey]: name, arn: regional(a, service, resourcePath(name)) } };
  };
}

/** A resource identified by a generated `<prefix>-<17 hex>` id, like EC2's. */
function ec2(prefix: string, type: string): OutputsFor {
  return (logical, _inputs, a) => {
    const id = `${prefix}-${hex(logical, 17)}`;
    return { id, state: { arn: regional(a, 'ec2', `${type}/${id}`) } };
  };
}

/** Companion resources of a bucket (versioning, policy, …) take the bucket's name as id. */
const bucketCompanion: OutputsFor = (_logical, inputs) => ({ id: str(inputs, 'bucket') ?? '', state: {} });

const CUSTOM: Readonly<Record<string, OutputsFor>> = {
  'pulumi:providers:aws': (logical) => ({ id: `${hex(logical, 8)}-provider`, state: {} }),
  'aws:s3/bucket:Bucket': (logical, inputs, a) => {
    // The provider appends a 26-digit unique id to `bucketPrefix`.
    const bucket = str(inputs, 'bucket') ?? `${str(inputs, 'bucketPrefix') ?? `${logical}-`}${BigInt(`0x${hex(logical, 20)}`).toString().padStart(26, '0').slice(0, 26)}`;
    return {
      id: bucket,
      state: {
        bucket,
        arn: `arn:${a.partition}:s3:::${bucket}`,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        bucketRegionalDomainName: `${bucket}.s3.${a.region}.amazonaws.com`,
        region: a.region,
      },
    };
  },
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls': bucketCompanion,
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock': bucketCompanion,
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': bucketCompanion,
  'aws:s3/bucketVersioning:BucketVersioning': bucketCompanion,
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration': bucketCompanion,
  'aws:s3/bucketPolicy:BucketPolicy': bucketCompanion,
  'aws:ecr/repository:Repository': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical).toLowerCase();
    return {
      id: name,
      state: {
        name,
        arn: regional(a, 'ecr', `repository/${name}`),
        registryId: a.accountId,
        repositoryUrl: `${a.accountId}.dkr.ecr.${a.region}.amazonaws.com/${name}`,
      },
    };
  },
  'docker-build:index:Image': (_logical, inputs) => {
    // The digest of what the build pushed: deterministic per target and build inputs here.
    const [tag] = (inputs['tags'] as string[] | undefined) ?? [];
    const digest = `sha256:${hex(JSON.stringify([tag, inputs['target'], inputs['dockerfile'], inputs['platforms']]), 64)}`;
    return { id: digest, state: { digest, ref: `${tag ?? ''}@${digest}`, contextHash: hex(JSON.stringify(inputs['context']), 64) } };
  },
  'aws:ecr/lifecyclePolicy:LifecyclePolicy': (_logical, inputs, a) => ({ id: str(inputs, 'repository') ?? '', state: { registryId: a.accountId } }),
  'aws:iam/role:Role': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'iam');
    return {
      id: name,
      state: { name, arn: `arn:${a.partition}:iam::${a.accountId}:role/${name}`, uniqueId: `AROA${hex(name, 17).toUpperCase()}`, path: '/' },
    };
  },
  'aws:iam/rolePolicy:RolePolicy': (logical, inputs) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'iam-policy');
    return { id: `${str(inputs, 'role') ?? ''}:${name}`, state: { name } };
  },
  'aws:ec2/vpc:Vpc': ec2('vpc', 'vpc'),
  'aws:ec2/subnet:Subnet': ec2('subnet', 'subnet'),
  'aws:ec2/internetGateway:InternetGateway': ec2('igw', 'internet-gateway'),
  'aws:ec2/routeTable:RouteTable': ec2('rtb', 'route-table'),
  'aws:ec2/routeTableAssociation:RouteTableAssociation': ec2('rtbassoc', 'route-table-association'),
  'aws:ec2/securityGroup:SecurityGroup': (logical, inputs, a) => {
    const { id, state } = ec2('sg', 'security-group')(logical, inputs, a);
    return { id, state: { ...state, name: str(inputs, 'name') ?? autoName(logical, 'sg') } };
  },
  'aws:ec2/vpcEndpoint:VpcEndpoint': ec2('vpce', 'vpc-endpoint'),
  'aws:sagemaker/model:Model': named('sagemaker', (name) => `model/${name}`),
  'aws:sagemaker/endpointConfiguration:EndpointConfiguration': named('sagemaker', (name) => `endpoint-config/${name}`),
  'aws:sagemaker/endpoint:Endpoint': named('sagemaker', (name) => `endpoint/${name}`),
  'aws:appautoscaling/target:Target': (_logical, inputs, a) => {
    const resourceId = str(inputs, 'resourceId') ?? '';
    return { id: resourceId, state: { arn: regional(a, 'application-autoscaling', `scalable-target/${hex(resourceId, 16)}`) } };
  },
  'aws:appautoscaling/policy:Policy': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'scaling');
    return { id: name, state: { name, arn: regional(a, 'autoscaling', `scalingPolicy:${hex(name, 16)}:resource/sagemaker/policyName/${name}`) } };
  },
  'aws:ecs/cluster:Cluster': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'ecs');
    const arn = regional(a, 'ecs', `cluster/${name}`);
    return { id: arn, state: { name, arn } };
  },
  'aws:ecs/taskDefinition:TaskDefinition': (logical, inputs, a) => {
    const family = str(inputs, 'family') ?? autoName(logical, 'ecs');
    const arnWithoutRevision = regional(a, 'ecs', `task-definition/${family}`);
    return { id: family, state: { family, revision: 1, arn: `${arnWithoutRevision}:1`, arnWithoutRevision } };
  },
  'aws:cloudwatch/logGroup:LogGroup': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'logs');
    return { id: name, state: { name, arn: regional(a, 'logs', `log-group:${name}`) } };
  },
  'aws:sqs/queue:Queue': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'sqs');
    const url = `https://sqs.${a.region}.amazonaws.com/${a.accountId}/${name}`;
    return { id: url, state: { name, url, arn: regional(a, 'sqs', name) } };
  },
  'aws:scheduler/schedule:Schedule': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? autoName(logical, 'scheduler');
    const groupName = str(inputs, 'groupName') ?? 'default';
    return { id: `${groupName}/${name}`, state: { name, groupName, arn: regional(a, 'scheduler', `schedule/${groupName}/${name}`) } };
  },
  'aws:kms/key:Key': (logical, _inputs, a) => {
    const keyId = [8, 4, 4, 4, 12].map((length, i) => hex(`${logical}:${i}`, length)).join('-');
    return { id: keyId, state: { keyId, arn: regional(a, 'kms', `key/${keyId}`) } };
  },
  'aws:kms/alias:Alias': (logical, inputs, a) => {
    const name = str(inputs, 'name') ?? `alias/${autoName(logical, 'kms')}`;
    return { id: name, state: { name, arn: regional(a, 'kms', name), targetKeyArn: regional(a, 'kms', `key/${str(inputs, 'targetKeyId') ?? ''}`) } };
  },
  'aws:sns/topic:Topic': named('sns', (name) => name),
  'aws:sns/topicSubscription:TopicSubscription': (logical, inputs) => {
    const arn = `${str(inputs, 'topic') ?? ''}:${hex(logical, 8)}-${hex(`${logical}1`, 4)}-${hex(`${logical}2`, 4)}`;
    // An e-mail subscription stays pending until the address confirms it.
    return { id: arn, state: { arn, pendingConfirmation: str(inputs, 'protocol') === 'email' } };
  },
  'aws:cloudwatch/eventRule:EventRule': named('events', (name) => `rule/${name}`),
  'aws:cloudwatch/eventTarget:EventTarget': (logical, inputs) => {
    const targetId = str(inputs, 'targetId') ?? autoName(logical, 'target');
    return { id: `${str(inputs, 'eventBusName') ?? 'default'}/${str(inputs, 'rule') ?? ''}/${targetId}`, state: { targetId } };
  },
  'aws:sns/topicPolicy:TopicPolicy': (_logical, inputs, a) => ({ id: str(inputs, 'arn') ?? '', state: { owner: a.accountId } }),
  'aws:cloudwatch/metricAlarm:MetricAlarm': named('cloudwatch', (name) => `alarm:${name}`),
  // Dashboards are global: their ARN has no region.
  'aws:cloudwatch/dashboard:Dashboard': (logical, inputs, a) => {
    const name = str(inputs, 'dashboardName') ?? logical;
    return { id: name, state: { dashboardName: name, dashboardArn: `arn:${a.partition}:cloudwatch::${a.accountId}:dashboard/${name}` } };
  },
};

/** Local component resources of this program, and Pulumi's root stack: no outputs of their own. */
const LOCAL_COMPONENT = /^(forecast:infra:[A-Za-z]+|pulumi:pulumi:Stack)$/;

/** Which outputs stay known in a first preview: what the program passed in, plus auto-generated names. */
const KNOWN_IN_PREVIEW = new Set(['name']);

export class UnknownMockError extends Error {
  override readonly name = 'UnknownMockError';
  readonly code = 'E_PLAN_UNKNOWN_MOCK';
}

/**
 * Mocks that answer like AWS would for every resource type and invoke the program uses, and fail
 * loudly on anything else, so a new resource type cannot slip into the plan with made-up outputs.
 * By default an unknown type or invoke throws. With `reportUnknown`, it is reported there instead and
 * answered with its own inputs, so the program runs to its end (a thrown mock error surfaces in the
 * program as unhandled rejections of Pulumi's internal promises) and the caller fails the plan then.
 */
export function planMocks(account: PlanAccount, preview: boolean, reportUnknown?: (message: string) => void): pulumi.runtime.Mocks {
  const unknown = (message: string, inputs: Inputs) => {
    if (reportUnknown === undefined) throw new UnknownMockError(message);
    reportUnknown(message);
    return inputs;
  };
  return {
    newResource(args) {
      const inputs = args.inputs as Inputs;
      if (!args.custom) {
        if (LOCAL_COMPONENT.test(args.type)) return { id: '', state: {} };
        return {
          id: '',
          state: unknown(`The offline plan has no mock for component type ${args.type} (resource "${args.name}"); add it to infra/plan/mocks.ts`, inputs),
        };
      }
      const outputsFor = CUSTOM[args.type];
      if (outputsFor === undefined) {
        return {
          id: `${args.name}-unmocked`,
          state: unknown(`The offline plan has no mock for resource type ${args.type} (resource "${args.name}"); add it to infra/plan/mocks.ts`, inputs),
        };
      }
      const { id, state } = outputsFor(args.name, inputs, account);
      if (!preview) return { id, state: { ...inputs, ...state } };
      // A first preview knows the inputs and the names Pulumi generates, not what AWS assigns.
      const known = Object.fromEntries(Object.entries(state).filter(([key]) => KNOWN_IN_PREVIEW.has(key)));
      return { id: '', state: { ...inputs, ...known } };
    },
    call(args) {
      switch (args.token) {
        case 'aws:index/getCallerIdentity:getCallerIdentity':
          return {
            accountId: account.accountId,
            arn: `arn:${account.partition}:iam::${account.accountId}:user/offline-plan`,
            userId: 'AIDAOFFLINEPLAN',
            id: account.accountId,
          };
        case 'aws:index/getPartition:getPartition':
          return { partition: account.partition, dnsSuffix: 'amazonaws.com', reverseDnsPrefix: 'com.amazonaws', id: account.partition };
        case 'aws:index/getRegion:getRegion':
          return { name: account.region, region: account.region, endpoint: `ec2.${account.region}.amazonaws.com`, id: account.region };
        case 'aws:ecr/getAuthorizationToken:getAuthorizationToken': {
          const registryId = typeof args.inputs['registryId'] === 'string' ? args.inputs['registryId'] : account.accountId;
          return {
            authorizationToken: Buffer.from('AWS:offline-plan').toString('base64'),
            userName: 'AWS',
            password: 'offline-plan',
            proxyEndpoint: `https://${registryId}.dkr.ecr.${account.region}.amazonaws.com`,
            expiresAt: '2026-01-01T12:00:00Z',
            id: registryId,
          };
        }
        case 'aws:index/getAvailabilityZones:getAvailabilityZones': {
          const names = ['a', 'b', 'c'].map((zone) => `${account.region}${zone}`);
          return { names, zoneIds: names.map((_, i) => `${account.region.slice(0, 3)}-az${i + 1}`), id: account.region, groupNames: [account.region] };
        }
        default:
          return unknown(`The offline plan has no mock for the invoke ${args.token}; add it to infra/plan/mocks.ts`, {});
      }
    },
  };
}
