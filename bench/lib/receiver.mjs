import { join } from 'node:path';
import { spawnUntil } from './processes.mjs';

/** Starts receiver-server.mjs (the http destinations' far end) as a child process; `delayMs` before each answer. */
export async function startReceiver({ delayMs = 0 } = {}) {
  const { child, match } = await spawnUntil([join(import.meta.dirname, 'receiver-server.mjs'), '--delay-ms', String(delayMs)], { ready: /listening on (http:\/\/\S+)/, what: 'http receiver' });
  const url = match[1];
  return {
    child,
    url,
    pid: child.pid,
    /** { events, requests, paths } the receiver has taken since it started. */
    async count() {
      return (await fetch(`${url}/__bench/count`)).json();
    },
  };
}
