import { isIPv4 } from 'node:net';
import { ConfigError } from '../core/errors.js';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError('server.listen', `expected HOST:PORT, got "${listen}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** 127.0.0.0/8, ::1, and IPv4 loopback written as IPv6 (::ffff:127.x.y.z). */
export function isLoopback(address: string): boolean {
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) ? v4.startsWith('127.') : address === '::1';
}
