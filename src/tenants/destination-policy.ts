import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { AuditstreamConfig } from '../config/schema.js';

export type DestinationPolicy = AuditstreamConfig['tenants']['destinationPolicy'];

/** Types that write the operator's local files: never a tenant's. */
const OPERATOR_ONLY_TYPES: ReadonlySet<string> = new Set(['log', 'audit-store']);

/**
 * Where a tenant's destination may not point: loopback, private (RFC 1918,
 * CGNAT, ULA), link-local with the cloud metadata addresses in it,
 * unspecified, multicast and reserved ranges, and NAT64 (which can reach
 * any of them). IPv4-mapped IPv6 is unwrapped before the check.
 */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv6');

/**
 * An AWS region name. The region becomes part of the endpoint's host name,
 * so a tenant's is held to the shape regions have, not to what the SDK
 * happens to accept.
 */
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Files a sink would read (CA, client keys, keystores): the operator's disk, not a tenant's to name. */
const LOCAL_FILE_KEYS: Readonly<Record<string, readonly string[][]>> = {
  http: [['tls', 'caFile']],
  kafka: [['ssl', 'caFile'], ['ssl', 'certFile'], ['ssl', 'keyFile'], ['ssl', 'keyStore'], ['ssl', 'trustedStore']],
};

/** A tenant destination the policy refuses; `key` is the config key at fault. */
export class DestinationNotAllowedError extends Error {
  readonly code = 'DESTINATION_NOT_ALLOWED';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'DestinationNotAllowedError';
  }
}

export type HostLookup = (host: string) => Promise<string[]>;

const dnsLookup: HostLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks a tenant's destination block (`type` and the emitter keys) against
 * `tenants.destinationPolicy`, resolving every host it names: each address
 * must be public or inside `allowNetworks`. Throws DestinationNotAllowedError
 * naming the key. A name is checked when the destination is added or
 * changed; the sink's connections are judged again when made (connect-guard.ts).
 */
export async function checkDestinationPolicy(type: string, config: Readonly<Record<string, unknown>>, policy: DestinationPolicy, resolve: HostLookup = dnsLookup): Promise<void> {
  if (OPERATOR_ONLY_TYPES.has(type)) throw new DestinationNotAllowedError('type', `"${type}" writes the server's local files and is for the operator's config file only`);
  if (!policy.allowTypes.includes(type)) throw new DestinationNotAllowedError('type', `"${type}" is not a destination type tenants may use (allowed: ${policy.allowTypes.join(', ') || 'none'})`);
  for (const path of LOCAL_FILE_KEYS[type] ?? []) {
    if (valueAt(config, path) !== undefined) throw new DestinationNotAllowedError(path.join('.'), 'names a file on the server; tenant destinations may not read local files');
  }
  const allowed = allowedNetworks(policy.allowNetworks);
  const hosts: { key: string; host: string }[] = [];
  if (type === 'kinesis' || type === 's3') {
    if (config.region !== undefined && !AWS_REGION.test(String(config.region))) {
      throw new DestinationNotAllowedError('region', 'not an AWS region name (like eu-west-1 or us-gov-west-1)');
    }
    if (config.credentials !== undefined && !policy.allowStaticAwsKeys) {
      throw new DestinationNotAllowedError('credentials', 'static AWS keys are not allowed for tenant destinations; give roleArn (a role trusting the vendor with your External ID)');
    }
    for (const key of ['endpoint', 'stsEndpoint']) {
      const url = config[key];
      if (url === undefined) continue;
      if (!policy.allowEndpointOverride) throw new DestinationNotAllowedError(key, 'endpoint overrides are not allowed for tenant destinations (tenants.destinationPolicy.allowEndpointOverride)');
      hosts.push({ key, host: hostOfUrl(key, url) });
    }
  }
  if (type === 'http' && typeof config.url === 'string') hosts.push({ key: 'url', host: hostOfUrl('url', config.url) });
  if (type === 'kafka' && Array.isArray(config.bootstrapServers)) {
    config.bootstrapServers.forEach((entry, i) => {
      for (const hostPort of String(entry).split(',')) hosts.push({ key: `bootstrapServers[${i}]`, host: hostPort.trim().replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') });
    });
  }
  for (const { key, host } of hosts) await checkHost(key, host, allowed, resolve);
}

/**
 * A tenant's AWS destination assumes a role only with the tenant's own
 * External ID: otherwise a tenant could name another's role (with that
 * tenant's External ID, or a role trusting the vendor without one) and have
 * auditstream write into it — the confused deputy the External ID exists for.
 * With neither a role nor keys of its own (`credentials`, where the policy
 * allows them) the sink would sign with the server's own AWS credentials, and
 * write into whatever stream or bucket those reach, the vendor's own included.
 */
export function checkTenantRole(type: string, config: Readonly<Record<string, unknown>>, tenantExternalId: string): void {
  if (type !== 'kinesis' && type !== 's3') return;
  if (config.roleArn === undefined) {
    if (config.credentials !== undefined) return;
    throw new DestinationNotAllowedError('roleArn', "required: a tenant destination writes as a role in your account that trusts the vendor with your External ID (GET /v1/tenants/{tenant}/cloudformation/{type} makes one), never with the server's own AWS credentials");
  }
  // Left out, the server puts the tenant's own in (DestinationManager.resolve).
  if (config.externalId === undefined) return;
  if (config.externalId !== tenantExternalId) throw new DestinationNotAllowedError('externalId', "is not your tenant's External ID (GET /v1/tenants/{tenant}); a destination's role is assumed with its own tenant's External ID only");
}

/** Whether a tenant may reach `address` (an IP literal): public, or inside `allowed` (allowNetworks). */
export function isReachable(address: string, allowed: BlockList): boolean {
  const ip = unmapped(address);
  return allowed.check(ip.address, ip.family) || !INTERNAL.check(ip.address, ip.family);
}

/** Whether `address` (an IP literal) is one a tenant may not reach without an allowlist entry. */
export function isInternalAddress(address: string): boolean {
  const ip = unmapped(address);
  return INTERNAL.check(ip.address, ip.family);
}

async function checkHost(key: string, host: string, allowed: BlockList, resolve: HostLookup): Promise<void> {
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      throw new DestinationNotAllowedError(key, `host "${host}" does not resolve (${(err as NodeJS.ErrnoException).code ?? String(err)}); a destination must resolve to a public address`);
    }
  }
  for (const address of addresses) {
    if (!isReachable(address, allowed)) {
      throw new DestinationNotAllowedError(
        key,
        `host "${host}" resolves to ${address}, a loopback, private, link-local or metadata address; tenant destinations may not reach it unless tenants.destinationPolicy.allowNetworks lists it`,
      );
    }
  }
}

export function allowedNetworks(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net = '', bits] = cidr.split('/');
    const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(net, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
  }
  return list;
}

/** An IPv4-mapped IPv6 address (::ffff:127.0.0.1, ::ffff:7f00:1) as the IPv4 address it is. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  if (isIP(address) === 4) return { address, family: 'ipv4' };
  // The URL parser writes every IPv6 spelling one way: lower case, compressed, the mapped tail in hex.
  const canonical = new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!m) return { address: canonical, family: 'ipv6' };
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
}

/**
 * The host a URL names. A URL carrying a user or password is refused: it is
 * a credential the config keeps in the clear, shown in every answer and
 * change event, where the keys meant for it are sealed and redacted.
 */
function hostOfUrl(key: string, url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new DestinationNotAllowedError(key, 'not a valid URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new DestinationNotAllowedError(key, 'holds a user or password (user:password@), which would be stored and shown in the clear; give them as auth.username and auth.password, which are sealed');
  }
  return parsed.hostname.replace(/^\[(.*)\]$/, '$1');
}

function valueAt(o: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let v: unknown = o;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}
