import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { ConnectGuard } from '../sinks/sink.js';
import { allowedNetworks, isReachable, type DestinationPolicy } from './destination-policy.js';

/** A connection of a tenant's sink to an address the destination policy forbids. */
export class ConnectRefusedError extends Error {
  readonly code = 'EDESTINATIONNOTALLOWED';
  constructor(host: string, address: string) {
    super(
      `${host === address ? address : `host "${host}" resolves to ${address}, which`} is a loopback, private, link-local or metadata address; tenant destinations may not reach it unless tenants.destinationPolicy.allowNetworks lists it`,
    );
    this.name = 'ConnectRefusedError';
  }
}

/**
 * The destination policy's address rule, applied to every connection a
 * tenant's sink makes. The policy judges names when a destination is saved;
 * this judges the addresses actually dialled, so a name re-pointed at an
 * internal address afterwards (DNS rebinding), or a Kafka broker advertising
 * one in its metadata, is refused too.
 */
export function connectGuard(policy: DestinationPolicy): ConnectGuard {
  const allowed = allowedNetworks(policy.allowNetworks);
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.find((a) => !isReachable(a.address, allowed));
      if (refused) return callback(new ConnectRefusedError(hostname, refused.address), '', 0);
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
  return {
    lookup,
    refusal: (host) => {
      const literal = host.replace(/^\[(.*)\]$/, '$1');
      return isIP(literal) !== 0 && !isReachable(literal, allowed) ? new ConnectRefusedError(literal, literal) : undefined;
    },
  };
}
