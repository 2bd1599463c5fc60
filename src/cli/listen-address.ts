import { ConfigError } from '../core/errors.js';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError('server.listen', `expected HOST:PORT, got "${listen}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
