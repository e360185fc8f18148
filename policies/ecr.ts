import * as aws from '@pulumi/aws';
import type { ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';
import { companionsOf, describe } from './support/related.js';

export const ecrRepositoryScanOnPush: ResourceValidationPolicy = {
  name: 'ecr-repository-scan-on-push',
  description: 'ECR repositories scan every pushed image for known vulnerabilities.',
  remediationSteps: 'Set imageScanningConfiguration: { scanOnPush: true } on the aws.ecr.Repository.',
  enforcementLevel: 'mandatory',
  severity: 'high',
  validateResource: validateResourceOfType(aws.ecr.Repository, (repository, _args, reportViolation) => {
    if (repository.imageScanningConfiguration?.scanOnPush !== true) {
      reportViolation(
        `Expected imageScanningConfiguration.scanOnPush true, found ${String(repository.imageScanningConfiguration?.scanOnPush)}.`,
      );
    }
  }),
};

export interface EcrTagMutabilityConfig {
  allowedTagMutability: string[];
}

export const ecrRepositoryTagMutability: ResourceValidationPolicy = {
  name: 'ecr-repository-tag-mutability',
  description: 'ECR repositories use an allowed tag mutability, so a deployed tag cannot silently point at another image.',
  remediationSteps: 'Set imageTagMutability on the aws.ecr.Repository to an allowed value; with IMMUTABLE_WITH_EXCLUSION, list the re-pushed tags in imageTagMutabilityExclusionFilters. Deploy images by digest either way.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  configSchema: {
    properties: {
      allowedTagMutability: {
        type: 'array',
        items: { type: 'string', enum: ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] },
        default: ['IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION'],
        description: 'Tag mutability settings a repository may use (AWS defaults to MUTABLE when unset).',
      },
    },
  },
  validateResource: validateResourceOfType(aws.ecr.Repository, (repository, args, reportViolation) => {
    const { allowedTagMutability } = args.getConfig<EcrTagMutabilityConfig>();
    const mutability = repository.imageTagMutability ?? 'MUTABLE';
    if (!allowedTagMutability.includes(mutability)) {
      reportViolation(`Expected imageTagMutability in [${allowedTagMutability.join(', ')}], found ${mutability}.`);
    }
    if (mutability.endsWith('_WITH_EXCLUSION') && (repository.imageTagMutabilityExclusionFilters ?? []).length === 0) {
      reportViolation(`Expected imageTagMutabilityExclusionFilters with imageTagMutability ${mutability}, found none.`);
    }
  }),
};

export const ecrRepositoryLifecyclePolicy: StackValidationPolicy = {
  name: 'ecr-repository-lifecycle-policy',
  description: 'Every ECR repository has a lifecycle policy, so nightly builds do not accumulate images and storage cost forever.',
  remediationSteps: 'Add an aws.ecr.LifecyclePolicy with repository: <repository>.name and a rule that expires untagged images.',
  enforcementLevel: 'mandatory',
  severity: 'medium',
  validateStack: (args, reportViolation) => {
    for (const repository of args.resources.filter((r) => r.isType(aws.ecr.Repository))) {
      const policies = companionsOf(args.resources, repository, [aws.ecr.LifecyclePolicy], 'repository', ['name', 'id']);
      if (policies.length === 0) {
        reportViolation(`Expected an ECR LifecyclePolicy for ${describe(repository)}, found none.`, repository.urn);
      }
    }
  },
};

export const ecrPolicies = [ecrRepositoryScanOnPush, ecrRepositoryTagMutability, ecrRepositoryLifecyclePolicy];
