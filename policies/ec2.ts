import * as aws from '@pulumi/aws';
import type { ReportViolation, ResourceValidationPolicy } from '@pulumi/policy';
import { validateResourceOfType } from '@pulumi/policy';

const EVERYWHERE = ['0.0.0.0/0', '::/0'];

export interface PublicIngressConfig {
  allowedPublicPorts: number[];
}

/** Reports an ingress rule open to the internet unless it covers only allowed ports. */
function checkIngress(
  where: string,
  cidrs: readonly (string | undefined)[],
  fromPort: number | undefined,
  toPort: number | undefined,
  config: PublicIngressConfig,
  reportViolation: ReportViolation,
): void {
  const open = cidrs.filter((c): c is string => c !== undefined && EVERYWHERE.includes(c));
  if (open.length === 0) return;
  const single = fromPort !== undefined && fromPort === toPort;
  if (single && config.allowedPublicPorts.includes(fromPort)) return;
  const ports = fromPort === undefined ? 'all ports' : single ? `port ${fromPort}` : `ports ${fromPort}-${toPort}`;
  reportViolation(`${where}: expected no ingress from ${open.join(', ')}, found ${ports} open to the internet.`);
}

export const ec2SecurityGroupNoPublicIngress: ResourceValidationPolicy = {
  name: 'ec2-security-group-no-public-ingress',
  description: 'Security groups admit no traffic from the whole internet (0.0.0.0/0 or ::/0): the nightly pipeline task serves nothing and needs no inbound access.',
  remediationSteps: 'Remove the ingress rule, or restrict it to the CIDR or security group that needs access; list a deliberately public port in allowedPublicPorts.',
  enforcementLevel: 'mandatory',
  severity: 'critical',
  configSchema: {
    properties: {
      allowedPublicPorts: { type: 'array', items: { type: 'integer' }, default: [], description: 'Single ports that may be open to the internet.' },
    },
  },
  validateResource: [
    validateResourceOfType(aws.ec2.SecurityGroup, (group, args, reportViolation) => {
      const config = args.getConfig<PublicIngressConfig>();
      for (const [i, rule] of (group.ingress ?? []).entries()) {
        checkIngress(`ingress[${i}]`, [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])], rule.fromPort, rule.toPort, config, reportViolation);
      }
    }),
    validateResourceOfType(aws.vpc.SecurityGroupIngressRule, (rule, args, reportViolation) => {
      checkIngress('ingress rule', [rule.cidrIpv4, rule.cidrIpv6], rule.fromPort, rule.toPort, args.getConfig<PublicIngressConfig>(), reportViolation);
    }),
    validateResourceOfType(aws.ec2.SecurityGroupRule, (rule, args, reportViolation) => {
      if (rule.type !== 'ingress') return;
      checkIngress('ingress rule', [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])], rule.fromPort, rule.toPort, args.getConfig<PublicIngressConfig>(), reportViolation);
    }),
  ],
};

export const ec2Policies = [ec2SecurityGroupNoPublicIngress];
