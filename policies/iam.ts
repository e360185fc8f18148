import * as aws from '@pulumi/aws';
import type { ReportViolation, ResourceValidation, ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';
import type { IamStatement } from './support/iam-document.js';
import { parsePolicyDocument, statementLabel } from './support/iam-document.js';
import { matchesAnyWildcard, matchesWildcard } from './support/wildcard.js';

/** A permission policy a resource declares, with where it sits for messages. */
interface DeclaredDocument {
  readonly where: string;
  readonly document: unknown;
}

type DocumentCheck<C> = (statements: IamStatement[], where: string, config: C, reportViolation: ReportViolation) => void;

/**
 * One validation per resource class that carries permission documents: RolePolicy and Policy
 * (`policy`) and a Role's deprecated `inlinePolicies`.
 */
function validatePermissionDocuments<C extends object>(check: DocumentCheck<C>): ResourceValidation[] {
  const run = (documents: DeclaredDocument[], config: C, reportViolation: ReportViolation): void => {
    for (const { where, document } of documents) {
      check(parsePolicyDocument(document), where, config, reportViolation);
    }
  };
  return [
    validateResourceOfType(aws.iam.RolePolicy, (p, args, report) =>
      run([{ where: 'policy', document: p.policy }], args.getConfig<C>(), report),
    ),
    validateResourceOfType(aws.iam.Policy, (p, args, report) =>
      run([{ where: 'policy', document: p.policy }], args.getConfig<C>(), report),
    ),
    validateResourceOfType(aws.iam.Role, (role, args, report) =>
      run(
        (role.inlinePolicies ?? []).map((inline, i) => ({
          where: `inlinePolicies[${i}]${inline.name ? ` "${inline.name}"` : ''}`,
          document: inline.policy,
        })),
        args.getConfig<C>(),
        report,
      ),
    ),
  ];
}

function allows(statements: IamStatement[]): Array<[IamStatement, number]> {
  return statements.map((s, i): [IamStatement, number] => [s, i]).filter(([s]) => s.effect === 'Allow');
}

/** Whether a statement has a condition on this key, under any operator (keys are case-insensitive). */
function conditionsOn(statement: IamStatement, key: string): boolean {
  return [...statement.conditions.values()].some((keys) => [...keys.keys()].some((k) => k.toLowerCase() === key.toLowerCase()));
}

export interface IamWildcardActionConfig {
  readOnlyActionPrefixes: string[];
}

/** Whether a wildcard action can only ever match read-only API calls (`s3:Get*`, `ecr:Describe*`). */
function isReadOnlyWildcard(action: string, readOnlyPrefixes: readonly string[]): boolean {
  const [service, verb] = action.split(':');
  if (!service || verb === undefined || /[*?]/.test(service)) return false;
  // The literal part before the first wildcard must already name a read-only verb.
  const literal = verb.slice(0, verb.search(/[*?]/)).toLowerCase();
  return readOnlyPrefixes.some((prefix) => literal.startsWith(prefix.toLowerCase()));
}

export const iamNoWildcardWriteActions: ResourceValidationPolicy = {
  name: 'iam-no-wildcard-write-actions',
  description: 'IAM permission policies name every write action they allow: no "*", no "service:*", no wildcard that can match a create, update or delete call, and no NotAction in an Allow.',
  remediationSteps: 'Replace the wildcard with the exact actions the role calls (e.g. "sagemaker:CreateTrainingJob", "s3:PutObject"). Wildcards are tolerated only on read-only prefixes such as "Get*", "List*" or "Describe*".',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  configSchema: {
    properties: {
      readOnlyActionPrefixes: {
        type: 'array',
        items: { type: 'string' },
        default: ['Get', 'List', 'Describe', 'BatchGet', 'Head'],
        description: 'Verb prefixes a wildcard action may start with, because every action they match only reads.',
      },
    },
  },
  validateResource: validatePermissionDocuments<IamWildcardActionConfig>((statements, where, config, report) => {
    for (const [statement, i] of allows(statements)) {
      if (statement.notActions.length > 0) {
        report(`${where} ${statementLabel(statement, i)}: expected Action, found NotAction [${statement.notActions.join(', ')}] in an Allow, which grants every other action.`);
      }
      for (const action of statement.actions) {
        if (!/[*?]/.test(action)) continue;
        if (!isReadOnlyWildcard(action, config.readOnlyActionPrefixes)) {
          report(`${where} ${statementLabel(statement, i)}: expected explicit write actions, found wildcard action "${action}".`);
        }
      }
    }
  }),
};

export interface IamDataActionConfig {
  dataActions: string[];
}

export const iamNoStarResourceForDataActions: ResourceValidationPolicy = {
  name: 'iam-no-star-resource-for-data-actions',
  description: 'IAM permission policies never allow a data action (reading or writing objects, keys, messages or items) on Resource "*" or with NotResource.',
  remediationSteps: 'Scope the statement to the ARNs it needs, e.g. arn:aws:s3:::<bucket>/models/* for s3:GetObject, or the queue ARN for sqs:SendMessage.',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  configSchema: {
    properties: {
      dataActions: {
        type: 'array',
        items: { type: 'string' },
        default: [
          's3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion',
          's3:ListBucket', 's3:ListBucketVersions', 's3:AbortMultipartUpload', 's3:RestoreObject',
          'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
          'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan',
          'secretsmanager:GetSecretValue', 'ssm:GetParameter', 'ssm:GetParameters',
          'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sns:Publish',
          'logs:PutLogEvents', 'logs:GetLogEvents', 'sagemaker:InvokeEndpoint',
        ],
        description: 'Concrete data actions; a statement whose actions match any of them must name its resources.',
      },
    },
  },
  validateResource: validatePermissionDocuments<IamDataActionConfig>((statements, where, config, report) => {
    for (const [statement, i] of allows(statements)) {
      const everywhere = statement.resources.includes('*') || statement.notResources.length > 0;
      if (!everywhere) continue;
      const data = config.dataActions.filter((d) => statement.actions.some((a) => matchesWildcard(a, d)));
      if (data.length > 0) {
        report(`${where} ${statementLabel(statement, i)}: expected named resources for data actions [${data.join(', ')}], found ${statement.notResources.length > 0 ? 'NotResource' : 'Resource "*"'}.`);
      }
    }
  }),
};

export const iamPassRoleRequiresPassedToService: ResourceValidationPolicy = {
  name: 'iam-passrole-requires-passed-to-service',
  description: 'iam:PassRole is allowed only on named roles and only with an iam:PassedToService condition, so a principal cannot hand a role to a service it was not meant for.',
  remediationSteps: 'Give the statement Resource: [<role ARNs>] and Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } } (or the service that receives the role).',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  validateResource: validatePermissionDocuments<object>((statements, where, _config, report) => {
    for (const [statement, i] of allows(statements)) {
      if (!statement.actions.some((a) => matchesWildcard(a, 'iam:PassRole'))) continue;
      if (!conditionsOn(statement, 'iam:PassedToService')) {
        report(`${where} ${statementLabel(statement, i)}: expected an iam:PassedToService condition on iam:PassRole, found ${statement.conditions.size === 0 ? 'no condition' : `only [${[...statement.conditions.keys()].join(', ')}]`}.`);
      }
      if (statement.resources.includes('*') || statement.notResources.length > 0) {
        report(`${where} ${statementLabel(statement, i)}: expected iam:PassRole on named role ARNs, found ${statement.notResources.length > 0 ? 'NotResource' : 'Resource "*"'}.`);
      }
    }
  }),
};

export interface IamTrustConfig {
  allowedServicePrincipals: string[];
}

export const iamRoleTrustedServicePrincipals: ResourceValidationPolicy = {
  name: 'iam-role-trusted-service-principals',
  description: 'IAM roles can be assumed only by the AWS services this system runs on (SageMaker, ECS tasks, EventBridge Scheduler by default), never by accounts, users or "*".',
  remediationSteps: 'Set the role\'s assumeRolePolicy principal to { Service: "<service>.amazonaws.com" } for one allowed service, or add the service to allowedServicePrincipals in the policy pack config.',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  configSchema: {
    properties: {
      allowedServicePrincipals: {
        type: 'array',
        items: { type: 'string' },
        default: ['sagemaker.amazonaws.com', 'ecs-tasks.amazonaws.com', 'scheduler.amazonaws.com'],
        description: 'Service principals a role may trust.',
      },
    },
  },
  validateResource: validateResourceOfType(aws.iam.Role, (role, args, reportViolation) => {
    const { allowedServicePrincipals } = args.getConfig<IamTrustConfig>();
    for (const [statement, i] of allows(parsePolicyDocument(role.assumeRolePolicy))) {
      if (statement.principals.size === 0) {
        reportViolation(`assumeRolePolicy ${statementLabel(statement, i)}: expected a Service principal, found no Principal.`);
      }
      for (const [type, values] of statement.principals) {
        if (type !== 'Service') {
          reportViolation(`assumeRolePolicy ${statementLabel(statement, i)}: expected only Service principals, found ${type === '*' ? '' : `${type} `}[${values.join(', ')}].`);
          continue;
        }
        const unexpected = values.filter((v) => !matchesAnyWildcard(allowedServicePrincipals, v, false));
        if (unexpected.length > 0) {
          reportViolation(`assumeRolePolicy ${statementLabel(statement, i)}: expected service principals in [${allowedServicePrincipals.join(', ')}], found [${unexpected.join(', ')}].`);
        }
      }
    }
  }),
};

export const iamRoleTrustSourceAccount: ResourceValidationPolicy = {
  name: 'iam-role-trust-source-account',
  description: 'A role that an AWS service assumes names the account it acts for (aws:SourceAccount) in its trust policy, so the service cannot be made to assume it on behalf of another account (the confused deputy).',
  remediationSteps: 'Add Condition: { StringEquals: { "aws:SourceAccount": <account id> } } to the role\'s assumeRolePolicy statement (infra/iam.ts assumeRolePolicy does), and ArnLike aws:SourceArn where the service documents the source it sets.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateResource: validateResourceOfType(aws.iam.Role, (role, _args, reportViolation) => {
    for (const [statement, i] of allows(parsePolicyDocument(role.assumeRolePolicy))) {
      if (!statement.principals.has('Service')) continue;
      if (!conditionsOn(statement, 'aws:SourceAccount') && !conditionsOn(statement, 'aws:SourceArn')) {
        reportViolation(`assumeRolePolicy ${statementLabel(statement, i)}: expected an aws:SourceAccount (or aws:SourceArn) condition on service principals [${(statement.principals.get('Service') ?? []).join(', ')}], found ${statement.conditions.size === 0 ? 'no condition' : `only [${[...statement.conditions.keys()].join(', ')}]`}.`);
      }
    }
  }),
};

/** `arn:…:sagemaker:…:<kind>-job/<name pattern>` */
const SAGEMAKER_JOB_ARN = /^arn:[^:]*:sagemaker:[^:]*:[^:]*:([a-z-]+-job)\/(.*)$/;

export const iamSagemakerJobArnsExact: ResourceValidationPolicy = {
  name: 'iam-sagemaker-job-arns-exact',
  description: 'Grants on SageMaker jobs name them by patterns without "*": a prefix pattern such as training-job/forecast-dev-* also matches every job of a sibling stack whose name extends this one (forecast-dev-2), so one stack could start, stop or read another\'s jobs.',
  remediationSteps: 'Replace "*" in the job name by one "?" per character of the parts that vary (run id, retry number), as runtime/pipeline/run-id.ts jobNamePatterns does: <prefix>-????????-????-train, <prefix>-????????-????-train-r?, …',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateResource: validatePermissionDocuments<object>((statements, where, _config, report) => {
    for (const [statement, i] of allows(statements)) {
      if (!statement.actions.some((action) => action.toLowerCase().startsWith('sagemaker:'))) continue;
      for (const resource of statement.resources) {
        const job = SAGEMAKER_JOB_ARN.exec(resource);
        if (job !== null && (job[2] ?? '').includes('*')) {
          report(`${where} ${statementLabel(statement, i)}: expected ${job[1] ?? 'job'} ARNs without "*" (a sibling stack's jobs would match), found "${resource}".`);
        }
      }
    }
  }),
};

export const iamPolicies = [
  iamNoWildcardWriteActions,
  iamNoStarResourceForDataActions,
  iamPassRoleRequiresPassedToService,
  iamRoleTrustedServicePrincipals,
  iamRoleTrustSourceAccount,
  iamSagemakerJobArnsExact,
];
