import { join } from 'node:path';
import { spawnUntil } from './processes.mjs';

/** Starts bare-server.mjs (the Node ingest ceiling) as a child process. */
export async function bareServer() {
  const { child, match } = await spawnUntil([join(import.meta.dirname, 'bare-server.mjs')], { ready: /listening on (http:\/\/\S+)/, what: 'bare node:http baseline' });
  return { child, url: match[1], pid: child.pid };
}
