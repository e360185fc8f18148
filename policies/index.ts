import { PolicyPack } from '@pulumi/policy';
import { policies, policyPackDescription, policyPackName } from './pack.js';

new PolicyPack(policyPackName, { policies, description: policyPackDescription, enforcementLevel: 'advisory' });
