import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface NetworkArgs {
  readonly cidrBlock: string;
  readonly region: string;
  /** Two availability zones for the task's subnets. */
  readonly availabilityZones: pulumi.Input<readonly [pulumi.Input<string>, pulumi.Input<string>]>;
}

/**
 * Where the nightly Fargate task runs: a small VPC with two public subnets and no NAT gateway (no
 * hourly cost). The task gets a public IP for AWS APIs and ECR, its security group admits nothing in
 * and lets only HTTPS out, and S3 traffic stays on a gateway endpoint.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly subnets: readonly aws.ec2.Subnet[];
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly s3Endpoint: aws.ec2.VpcEndpoint;
  readonly subnetIds: pulumi.Output<string[]>;
  readonly securityGroupIds: pulumi.Output<string[]>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Network', name, {}, opts);
    const parent = { parent: this };

    this.vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.cidrBlock, enableDnsHostnames: true, enableDnsSupport: true }, parent);
    const internetGateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id }, parent);
    const routeTable = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: this.vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: internetGateway.id }] },
      parent,
    );
    const zones = pulumi.output(args.availabilityZones);
    this.subnets = [0, 1].map((index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${index}`,
        {
          vpcId: this.vpc.id,
          availabilityZone: zones.apply((names) => names[index] as string),
          cidrBlock: subnetCidr(args.cidrBlock, index),
          mapPublicIpOnLaunch: false,
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(`${name}-public-${index}`, { subnetId: subnet.id, routeTableId: routeTable.id }, parent);
      return subnet;
    });
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-task`,
      {
        vpcId: this.vpc.id,
        description: 'Nightly pipeline task: no inbound, HTTPS outbound to AWS APIs and ECR',
        egress: [{ description: 'HTTPS to AWS APIs', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }],
      },
      parent,
    );
    this.s3Endpoint = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${args.region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [routeTable.id],
      },
      parent,
    );
    this.subnetIds = pulumi.all(this.subnets.map((subnet) => subnet.id));
    this.securityGroupIds = pulumi.all([this.securityGroup.id]);
    this.registerOutputs({ vpcId: this.vpc.id, subnetIds: this.subnetIds, securityGroupIds: this.securityGroupIds });
  }
}

/** The `index`-th quarter of the VPC's block (two bits longer prefix). */
export function subnetCidr(vpcCidr: string, index: number): string {
  const [address = '', bits = ''] = vpcCidr.split('/');
  const prefix = Number(bits);
  const octets = address.split('.').map(Number);
  const base = (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
  const size = 2 ** (32 - prefix - 2);
  const start = (base + index * size) >>> 0;
  return `${[start >>> 24, (start >>> 16) & 255, (start >>> 8) & 255, start & 255].join('.')}/${prefix + 2}`;
}
