import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { planStack, type StackPlan } from '../../infra/plan/plan-stack.js';
import { readPipelineConfig } from '../../runtime/config/pipeline-config.js';
import { PIPELINE_ENV } from '../../runtime/config/pipeline-env.js';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import { provisionLocalStack } from '../../runtime/local/bootstrap.js';
import { startLocalAws } from '../../runtime/local/edge-server.js';
import { LOCAL_IMAGES } from '../../runtime/local/images.js';
import type { EdgeRequest } from '../../runtime/local/request-recorder.js';
import { CURRENT_MANIFEST_KEY, historyManifestKey } from '../../runtime/pipeline/manifest.js';
import { runPipeline } from '../../runtime/pipeline/run-pipeline.js';
import { FAST_HYPERPARAMETERS } from '../runtime/pipeline/local-pipeline.js';
import { decide, iamRequestsOf, repositoryArnOf, rolePolicy, unknownToCatalogue, type IamRequest, type Place, type PolicyDocument } from './iam-simulation.js';
import { at, ofType, one, scheduledRunEnvironment } from './plan-helpers.js';

/**
 * One real local night with the dev stack's own settings (bucket, job prefix, endpoint, roles; only
 * the images are local), every request recorded at the edge, then evaluated with conditions
 * against the role policies the dev stack plans. The pipeline task signs as `pipeline-task`; local
 * SageMaker reaches S3 as `local-sagemaker`, as SageMaker does with the execution role.
 */

const PLACE: Place = { partition: 'aws', region: 'eu-west-1', accountId: '123456789012' };
const NIGHT = '2026-11-26T01:00:00Z';
const RUN_ID = '20261126-0200';

interface RoleUnderTest {
  readonly name: string;
  readonly arn: string;
  readonly policy: PolicyDocument;
}

let plan: StackPlan;
let recorded: EdgeRequest[];
const role = (name: string): RoleUnderTest => ({ name, arn: one(plan, 'aws:iam/role:Role', name).outputs['arn'] as string, policy: rolePolicy(plan, name) });

test.before(async (t) => {
  plan = await planStack({ stack: 'dev' });
  recorded = [];
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'forecast-iam-night-'));
  const aws = await startLocalAws({ dataDir, port: 0, stopGraceMs: 2000, checkpointIntervalMs: 200, onRequest: (request) => recorded.push(request) });
  try {
    const environment = {
      ...scheduledRunEnvironment(plan, NIGHT),
      [PIPELINE_ENV.processingImage]: LOCAL_IMAGES.processing,
      [PIPELINE_ENV.trainingImage]: LOCAL_IMAGES.training,
      [PIPELINE_ENV.hyperparameters]: JSON.stringify(FAST_HYPERPARAMETERS),
    };
    const config = readPipelineConfig(environment);
    await provisionLocalStack({ endpointUrl: aws.endpointUrl, bucket: config.bucket, endpointName: config.endpointName });
    const client = (accessKeyId: string) => ({ endpoint: aws.endpointUrl, region: PLACE.region, credentials: { accessKeyId, secretAccessKey: accessKeyId } });
    const operator = new S3Client({ ...client('operator'), forcePathStyle: true });
    const rows = [...datasetChunks({ customers: 3, days: 90, noise: 0.02 })].join('');
    await operator.send(new PutObjectCommand({ Bucket: config.bucket, Key: 'raw/energy.csv', Body: rows, ContentType: 'text/csv' }));
    operator.destroy();
    const result = await runPipeline({
      config,
      deps: {
        s3: new S3Client({ ...client('pipeline-task'), forcePathStyle: true }),
        sagemaker: new SageMakerClient(client('pipeline-task')),
        runtime: new SageMakerRuntimeClient(client('pipeline-task')),
      },
      backoff: { minDelayMs: 100, maxDelayMs: 500 },
    });
    t.log(`local night ${result.runId}: ${result.publishOutcome}, ${recorded.length} requests recorded`);
  } finally {
    await aws.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** Unique requests (a night repeats many Describe and GetObject calls). */
function unique(requests: readonly IamRequest[]): IamRequest[] {
  return [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
}

async function decisions(subject: RoleUnderTest, requests: readonly IamRequest[]) {
  const results = [];
  for (const request of requests) results.push({ request, decision: await decide(subject.policy, subject.arn, request, PLACE.accountId) });
  return results;
}

const describe = (r: IamRequest) => `${r.action} ${r.resource}${Object.keys(r.context).length === 0 ? '' : ` ${JSON.stringify(r.context)}`}`;

function recordedBy(accessKeyId: string): IamRequest[] {
  return unique(recorded.filter((r) => r.accessKeyId === accessKeyId).flatMap((r) => iamRequestsOf(r, PLACE)));
}

const bucketArn = () => one(plan, 'aws:s3/bucket:Bucket').outputs['arn'] as string;
const keyArn = () => one(plan, 'aws:kms/key:Key').outputs['arn'] as string;
const sagemakerArn = (resource: string) => `arn:aws:sagemaker:${PLACE.region}:${PLACE.accountId}:${resource}`;
const logStream = (group: string, stream: string) => `arn:aws:logs:${PLACE.region}:${PLACE.accountId}:log-group:${group}:log-stream:${stream}`;
const logGroup = (group: string) => `arn:aws:logs:${PLACE.region}:${PLACE.accountId}:log-group:${group}`;

/** What SageMaker itself does with the execution role around the jobs and the endpoint (not visible in local mode). */
function sagemakerServiceRequests(): IamRequest[] {
  const images = ['processingImageUri', 'trainingImageUri', 'inferenceImageUri'].map((output) => repositoryArnOf(String(plan.outputs[output])));
  const jobs = recorded.flatMap((r) =>
    r.service === 'sagemaker' && r.operation === 'CreateTrainingJob'
      ? [{ group: '/aws/sagemaker/TrainingJobs', name: String(r.input['TrainingJobName']), namespace: '/aws/sagemaker/TrainingJobs' }]
      : r.service === 'sagemaker' && r.operation === 'CreateProcessingJob'
        ? [{ group: '/aws/sagemaker/ProcessingJobs', name: String(r.input['ProcessingJobName']), namespace: '/aws/sagemaker/ProcessingJobs' }]
        : [],
  );
  const endpointGroup = `/aws/sagemaker/Endpoints/${String(plan.outputs['endpointName'])}`;
  return [
    { action: 'ecr:GetAuthorizationToken', resource: '*', context: {} },
    ...images.flatMap((repository) =>
      ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'].map((action) => ({ action, resource: repository, context: {} })),
    ),
    ...[...jobs, { group: endpointGroup, name: 'all-customers/i-0123456789abcdef0', namespace: '/aws/sagemaker/Endpoints' }].flatMap((job) => [
      { action: 'logs:CreateLogGroup', resource: logGroup(job.group), context: {} },
      { action: 'logs:CreateLogStream', resource: logStream(job.group, `${job.name}/algo-1-1764118800`), context: {} },
      { action: 'logs:PutLogEvents', resource: logStream(job.group, `${job.name}/algo-1-1764118800`), context: {} },
      { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': job.namespace } },
    ]),
    { action: 'kms:CreateGrant', resource: keyArn(), context: { 'kms:GrantIsForAWSResource': 'true' } },
    ...['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'].map((action) => ({ action, resource: keyArn(), context: {} })),
  ];
}

/** What EventBridge Scheduler does with its role to start one night (AWS's "Amazon ECS EventBridge IAM role"). */
function schedulerRequests(): IamRequest[] {
  const cluster = one(plan, 'aws:ecs/cluster:Cluster').outputs['arn'] as string;
  const task = one(plan, 'aws:ecs/taskDefinition:TaskDefinition').outputs['arn'] as string;
  return [
    { action: 'ecs:RunTask', resource: task, context: { 'ecs:cluster': cluster } },
    ...['roles-pipeline-task', 'roles-task-execution'].map((name) => ({
      action: 'iam:PassRole',
      resource: one(plan, 'aws:iam/role:Role', name).outputs['arn'] as string,
      context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    })),
    { action: 'ecs:TagResource', resource: `arn:aws:ecs:${PLACE.region}:${PLACE.accountId}:task/${String(at(one(plan, 'aws:ecs/cluster:Cluster').outputs, 'name'))}/0123456789abcdef`, context: { 'ecs:CreateAction': 'RunTask' } },
    { action: 'sqs:SendMessage', resource: one(plan, 'aws:sqs/queue:Queue').outputs['arn'] as string, context: {} },
  ];
}

/** What ECS does with the task execution role to start the task: pull its image, ship its logs. */
function taskExecutionRequests(): IamRequest[] {
  const group = one(plan, 'aws:cloudwatch/logGroup:LogGroup').outputs['name'] as string;
  return [
    { action: 'ecr:GetAuthorizationToken', resource: '*', context: {} },
    ...['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'].map((action) => ({
      action,
      resource: repositoryArnOf(String(plan.outputs['pipelineImageUri'])),
      context: {},
    })),
    { action: 'logs:CreateLogStream', resource: logStream(group, 'pipeline/pipeline/0123abcd'), context: {} },
    { action: 'logs:PutLogEvents', resource: logStream(group, 'pipeline/pipeline/0123abcd'), context: {} },
  ];
}

test('the local night made the requests the simulation needs: jobs, listings with a prefix, manifests, invocations', (t) => {
  const pipeline = recordedBy('pipeline-task').map(describe);
  t.true(pipeline.some((r) => r.startsWith('sagemaker:CreateTrainingJob ')), pipeline.join('\n'));
  t.true(pipeline.some((r) => r.startsWith('sagemaker:InvokeEndpoint ')));
  t.true(pipeline.some((r) => r.startsWith(`s3:PutObject ${bucketArn()}/manifests/current.json`)));
  t.true(recordedBy('local-sagemaker').some((r) => r.action === 's3:ListBucket' && typeof r.context['s3:prefix'] === 'string'));
  t.true(recordedBy('local-sagemaker').some((r) => r.action === 's3:PutObject' && r.resource.startsWith(`${bucketArn()}/models/${RUN_ID}/`)), 'checkpoints uploaded under models/<run>/');
});

const allowedCases: [roleName: string, requests: () => IamRequest[]][] = [
  // On AWS a missing manifest answers 403, and the pipeline settles it by listing the key itself.
  [
    'roles-pipeline-task',
    () => [
      ...recordedBy('pipeline-task'),
      ...[CURRENT_MANIFEST_KEY, historyManifestKey(RUN_ID)].map((key) => ({ action: 's3:ListBucket', resource: bucketArn(), context: { 's3:prefix': key } })),
    ],
  ],
  ['roles-sagemaker', () => [...recordedBy('local-sagemaker'), ...sagemakerServiceRequests()]],
  ['roles-scheduler', schedulerRequests],
  ['roles-task-execution', taskExecutionRequests],
];

for (const [roleName, requests] of allowedCases) {
  test(`every request made with ${roleName} is allowed, conditions included`, async (t) => {
    const results = await decisions(role(roleName), requests());
    t.true(results.length > 0);
    const refused = results.filter((r) => r.decision !== 'Allowed').map((r) => `${r.decision}: ${describe(r.request)}`);
    t.deepEqual(refused, []);
    t.log(`${roleName}: ${results.length} requests simulated, ${results.length - refused.length} allowed`);
  });
}

const otherBucket = 'arn:aws:s3:::someone-elses-bucket';
const mustDeny: [roleName: string, why: string, request: () => IamRequest][] = [
  ['roles-pipeline-task', 'training job of a sibling stack (dev-2)', () => ({ action: 'sagemaker:CreateTrainingJob', resource: sagemakerArn(`training-job/forecast-fleet-dev-2-${RUN_ID}-train`), context: {} })],
  ['roles-pipeline-task', 'processing job of a sibling stack (dev2)', () => ({ action: 'sagemaker:CreateProcessingJob', resource: sagemakerArn(`processing-job/forecast-fleet-dev2-${RUN_ID}-process`), context: {} })],
  ['roles-pipeline-task', 'stopping a job of another stack (prod)', () => ({ action: 'sagemaker:StopTrainingJob', resource: sagemakerArn(`training-job/forecast-fleet-prod-${RUN_ID}-train`), context: {} })],
  ['roles-pipeline-task', 'reading another bucket', () => ({ action: 's3:GetObject', resource: `${otherBucket}/manifests/current.json`, context: {} })],
  ['roles-pipeline-task', 'listing the whole bucket (no prefix)', () => ({ action: 's3:ListBucket', resource: bucketArn(), context: {} })],
  ['roles-pipeline-task', 'writing raw data', () => ({ action: 's3:PutObject', resource: `${bucketArn()}/raw/energy.csv`, context: {} })],
  ['roles-pipeline-task', 'writing models (only training does)', () => ({ action: 's3:PutObject', resource: `${bucketArn()}/models/${RUN_ID}/0.tar.gz`, context: {} })],
  ['roles-pipeline-task', 'passing the SageMaker role to another service', () => ({ action: 'iam:PassRole', resource: one(plan, 'aws:iam/role:Role', 'roles-sagemaker').outputs['arn'] as string, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } })],
  ['roles-pipeline-task', 'passing the task role itself', () => ({ action: 'iam:PassRole', resource: one(plan, 'aws:iam/role:Role', 'roles-pipeline-task').outputs['arn'] as string, context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } })],
  ['roles-pipeline-task', 'invoking another endpoint', () => ({ action: 'sagemaker:InvokeEndpoint', resource: sagemakerArn('endpoint/forecast-fleet-prod'), context: {} })],
  ['roles-sagemaker', 'reading the manifest (jobs never do)', () => ({ action: 's3:GetObject', resource: `${bucketArn()}/manifests/current.json`, context: {} })],
  ['roles-sagemaker', 'writing raw data', () => ({ action: 's3:PutObject', resource: `${bucketArn()}/raw/x.csv`, context: {} })],
  ['roles-sagemaker', 'reading another bucket', () => ({ action: 's3:GetObject', resource: `${otherBucket}/runs/x`, context: {} })],
  ['roles-sagemaker', 'metrics outside SageMaker\'s namespaces', () => ({ action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'Billing' } })],
  ['roles-sagemaker', 'pulling the pipeline image', () => ({ action: 'ecr:BatchGetImage', resource: repositoryArnOf(String(plan.outputs['pipelineImageUri'])), context: {} })],
  ['roles-sagemaker', 'a key grant for a non-AWS grantee', () => ({ action: 'kms:CreateGrant', resource: keyArn(), context: { 'kms:GrantIsForAWSResource': 'false' } })],
  ['roles-scheduler', 'running the task on another cluster', () => ({ action: 'ecs:RunTask', resource: one(plan, 'aws:ecs/taskDefinition:TaskDefinition').outputs['arn'] as string, context: { 'ecs:cluster': `arn:aws:ecs:${PLACE.region}:${PLACE.accountId}:cluster/other` } })],
  ['roles-scheduler', 'running another task family', () => ({ action: 'ecs:RunTask', resource: `arn:aws:ecs:${PLACE.region}:${PLACE.accountId}:task-definition/forecast-fleet-dev-2-pipeline:1`, context: { 'ecs:cluster': one(plan, 'aws:ecs/cluster:Cluster').outputs['arn'] as string } })],
  ['roles-scheduler', 'passing the SageMaker role', () => ({ action: 'iam:PassRole', resource: one(plan, 'aws:iam/role:Role', 'roles-sagemaker').outputs['arn'] as string, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } })],
  ['roles-scheduler', 'passing a task role to another service', () => ({ action: 'iam:PassRole', resource: one(plan, 'aws:iam/role:Role', 'roles-pipeline-task').outputs['arn'] as string, context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } })],
  ['roles-task-execution', 'pulling a SageMaker image', () => ({ action: 'ecr:BatchGetImage', resource: repositoryArnOf(String(plan.outputs['trainingImageUri'])), context: {} })],
  ['roles-task-execution', 'writing to another log group', () => ({ action: 'logs:PutLogEvents', resource: logStream('/other', 'x'), context: {} })],
];

test('every request on the must-deny list is denied', async (t) => {
  const wronglyAllowed: string[] = [];
  const byRole = new Map<string, number>();
  for (const [roleName, why, request] of mustDeny) {
    const subject = role(roleName);
    const decision = await decide(subject.policy, subject.arn, request(), PLACE.accountId);
    if (decision === 'Allowed') wronglyAllowed.push(`${roleName}: ${why} (${describe(request())})`);
    else byRole.set(roleName, (byRole.get(roleName) ?? 0) + 1);
  }
  t.deepEqual(wronglyAllowed, []);
  t.log([...byRole].map(([name, count]) => `${name}: ${count} denied as intended`).join('; '));
});

test('every action and condition key in every planned policy exists in the AWS catalogue (iam-data)', async (t) => {
  const documents: [string, PolicyDocument][] = [];
  for (const resource of ofType(plan, 'aws:iam/rolePolicy:RolePolicy')) documents.push([resource.name, JSON.parse(resource.inputs['policy'] as string) as PolicyDocument]);
  for (const resource of ofType(plan, 'aws:iam/role:Role')) documents.push([`${resource.name} trust`, JSON.parse(resource.inputs['assumeRolePolicy'] as string) as PolicyDocument]);
  for (const type of ['aws:s3/bucketPolicy:BucketPolicy', 'aws:sns/topicPolicy:TopicPolicy']) {
    for (const resource of ofType(plan, type)) documents.push([resource.name, JSON.parse(resource.inputs['policy'] as string) as PolicyDocument]);
  }
  t.true(documents.length >= 10);
  const unknown: string[] = [];
  for (const [name, document] of documents) for (const entry of await unknownToCatalogue(document)) unknown.push(`${name}: ${entry}`);
  t.deepEqual(unknown, []);
});
