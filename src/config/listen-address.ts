import { isIP, isIPv4 } from 'node:net';
import { ConfigError } from '../core/errors.js';

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** What is wrong with a `HOST:PORT` listen address, or undefined when it is one the server can bind. */
export function listenProblem(listen: string): string | undefined {
  const m = /^(\[[^\]]*\]|[^:\s[\]]*):(\d+)$/.exec(listen);
  if (!m) return `expected HOST:PORT (an IPv6 host in brackets), e.g. 127.0.0.1:8080 or [::1]:8080, got "${listen}"`;
  const [, host, portText] = m as unknown as [string, string, string];
  const port = Number(portText);
  if (port > 65535) return `port ${portText} is out of range: use 0–65535 (0 picks a free port)`;
  if (host.startsWith('[')) {
    if (isIP(host.slice(1, -1)) !== 6) return `"${host}" is not an IPv6 address`;
  } else if (/^[\d.]+$/.test(host)) {
    // All digits and dots reads as an IPv4 address; 999.1.1.1 is not a host name either.
    if (isIP(host) !== 4) return `"${host}" is not an IPv4 address`;
  } else if (!HOST_NAME.test(host)) {
    return `"${host}" is not a host name or an IP address`;
  }
  return undefined;
}

export function parseListen(listen: string): { host: string; port: number } {
  const problem = listenProblem(listen);
  if (problem) throw new ConfigError('server.listen', problem);
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** 127.0.0.0/8, ::1, and IPv4 loopback written as IPv6 (::ffff:127.x.y.z). */
export function isLoopback(address: string): boolean {
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) ? v4.startsWith('127.') : address === '::1';
}
