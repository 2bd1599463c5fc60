import { isVpcFlowField } from './fields.js';

/** The fields of a flow log's records, in order, and where the ones auditstream reads are. */
export interface VpcFlowLayout {
  readonly fields: readonly string[];
  /** Position of each field by name. */
  readonly at: ReadonlyMap<string, number>;
}

/** VPC Flow Logs' default format (version 2). */
export const DEFAULT_VPC_FLOW_FORMAT =
  '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';

/** Transit Gateway Flow Logs' default format (version 6). */
export const DEFAULT_TGW_FLOW_FORMAT =
  '${version} ${resource-type} ${account-id} ${tgw-id} ${tgw-attachment-id} ${tgw-src-vpc-account-id} ${tgw-dst-vpc-account-id} ${tgw-src-vpc-id} ${tgw-dst-vpc-id} ' +
  '${tgw-src-subnet-id} ${tgw-dst-subnet-id} ${tgw-src-eni} ${tgw-dst-eni} ${tgw-src-az-id} ${tgw-dst-az-id} ${tgw-pair-attachment-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ' +
  '${protocol} ${packets} ${bytes} ${start} ${end} ${log-status} ${type} ${packets-lost-no-route} ${packets-lost-blackhole} ${packets-lost-mtu-exceeded} ${packets-lost-ttl-expired} ' +
  '${tcp-flags} ${region} ${flow-direction} ${pkt-src-aws-service} ${pkt-dst-aws-service}';

/** Format strings come from config and from ingest requests (`?vpcFlowFormat=`): the cache of read ones is bounded. */
const MAX_COMPILED = 256;
const compiled = new Map<string, VpcFlowLayout>();

/**
 * Reads a format string in AWS's LogFormat syntax (`${version} ${srcaddr} …`),
 * as given when the flow log was created; AWS does not put it in the records.
 * Throws an Error naming the first token that is not a known field.
 */
export function vpcFlowLayout(format: string): VpcFlowLayout {
  const known = compiled.get(format);
  if (known !== undefined) return known;
  const tokens = format.trim().split(/\s+/).filter((x) => x !== '');
  if (tokens.length === 0) throw new Error('expected at least one field, e.g. "${version} ${srcaddr} ${dstaddr}"');
  const fields: string[] = [];
  for (const token of tokens) {
    const m = /^\$\{([a-z0-9-]+)\}$/.exec(token);
    if (m === null) throw new Error(`"${token}" is not a \${field-name}`);
    const name = m[1]!;
    if (!isVpcFlowField(name)) throw new Error(`\${${name}} is not a VPC or Transit Gateway flow log field`);
    if (fields.includes(name)) throw new Error(`\${${name}} appears twice`);
    fields.push(name);
  }
  const layout = layoutOf(fields);
  if (compiled.size < MAX_COMPILED) compiled.set(format, layout);
  return layout;
}

/**
 * The layout a header line declares, or undefined when the line is not one.
 * Flow logs delivered to S3 as text start each object with the field names
 * separated by spaces (`version account-id interface-id …`).
 */
export function vpcFlowHeader(line: string): VpcFlowLayout | undefined {
  const names = line.trim().split(/\s+/);
  if (names.length === 0 || !names.every(isVpcFlowField)) return undefined;
  if (new Set(names).size !== names.length) return undefined;
  return layoutOf(names);
}

function layoutOf(fields: readonly string[]): VpcFlowLayout {
  return { fields, at: new Map(fields.map((f, i) => [f, i])) };
}
