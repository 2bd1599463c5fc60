/** How a field's text is read: a number, an IP address, or kept as text. `-` is null for every kind. */
export type VpcFlowFieldKind = 'number' | 'address' | 'text';

interface FieldSpec {
  /** The flow log version that introduced the field. */
  version: number;
  kind: VpcFlowFieldKind;
}

const n = (version: number): FieldSpec => ({ version, kind: 'number' });
const a = (version: number): FieldSpec => ({ version, kind: 'address' });
const t = (version: number): FieldSpec => ({ version, kind: 'text' });

/**
 * Every field AWS documents for VPC Flow Logs ("Flow log records", versions 2–8)
 * and Transit Gateway Flow Logs ("Transit Gateway Flow Log records", version 6).
 */
export const VPC_FLOW_FIELDS: Readonly<Record<string, FieldSpec>> = {
  version: n(2),
  'account-id': t(2),
  'interface-id': t(2),
  srcaddr: a(2),
  dstaddr: a(2),
  srcport: n(2),
  dstport: n(2),
  protocol: n(2),
  packets: n(2),
  bytes: n(2),
  start: n(2),
  end: n(2),
  action: t(2),
  'log-status': t(2),
  'vpc-id': t(3),
  'subnet-id': t(3),
  'instance-id': t(3),
  'tcp-flags': n(3),
  type: t(3),
  'pkt-srcaddr': a(3),
  'pkt-dstaddr': a(3),
  region: t(4),
  'az-id': t(4),
  'sublocation-type': t(4),
  'sublocation-id': t(4),
  'pkt-src-aws-service': t(5),
  'pkt-dst-aws-service': t(5),
  'flow-direction': t(5),
  'traffic-path': n(5),
  'resource-type': t(6),
  'tgw-id': t(6),
  'tgw-attachment-id': t(6),
  'tgw-src-vpc-account-id': t(6),
  'tgw-dst-vpc-account-id': t(6),
  'tgw-src-vpc-id': t(6),
  'tgw-dst-vpc-id': t(6),
  'tgw-src-subnet-id': t(6),
  'tgw-dst-subnet-id': t(6),
  'tgw-src-eni': t(6),
  'tgw-dst-eni': t(6),
  'tgw-src-az-id': t(6),
  'tgw-dst-az-id': t(6),
  'tgw-pair-attachment-id': t(6),
  'packets-lost-no-route': n(6),
  'packets-lost-blackhole': n(6),
  'packets-lost-mtu-exceeded': n(6),
  'packets-lost-ttl-expired': n(6),
  'ecs-cluster-arn': t(7),
  'ecs-cluster-name': t(7),
  'ecs-container-instance-arn': t(7),
  'ecs-container-instance-id': t(7),
  'ecs-container-id': t(7),
  'ecs-second-container-id': t(7),
  'ecs-service-name': t(7),
  'ecs-task-definition-arn': t(7),
  'ecs-task-arn': t(7),
  'ecs-task-id': t(7),
  'reject-reason': t(8),
};

export function isVpcFlowField(name: string): boolean {
  return Object.hasOwn(VPC_FLOW_FIELDS, name);
}
