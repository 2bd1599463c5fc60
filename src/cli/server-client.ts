/**
 * What every command that talks to a running server shares: `--url` is the
 * server's base URL (the same meaning for every command), `--api-key` or
 * AUDITSTREAM_API_KEY its Bearer key, and a failure is an error that says
 * why — unreachable, key missing or refused, or the status and the server's
 * own message — so the command exits non-zero instead of printing an error
 * answer as if it were a result.
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../core/errors.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

export interface ServerOptions {
  url: string;
  apiKey?: string;
}

/** Adds `--url` and `--api-key` to `cmd`; `defaultUrl` null leaves `--url` unset unless given (the command has a local mode). */
export function addServerOptions(cmd: Command, defaultUrl: string | null = DEFAULT_SERVER_URL): Command {
  const url = new Option('--url <url>', 'base URL of a running server, e.g. http://127.0.0.1:8080 (a path prefix of a reverse proxy is kept)');
  if (defaultUrl !== null) url.default(defaultUrl);
  return cmd.addOption(url).addOption(new Option('--api-key <key>', 'Bearer API key for a server with server.apiKeys (default: $AUDITSTREAM_API_KEY, which keeps it out of `ps`)'));
}

/** The URL of `path` (e.g. "v1/events") under the base URL; a base that is not an http(s) URL is refused naming `--url`. */
export function serverEndpoint(base: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ConfigError('--url', `"${base}" is not a URL; give the server's base URL, e.g. ${DEFAULT_SERVER_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('--url', `"${base}" is not an http or https URL`);
  if (url.search || url.hash) throw new ConfigError('--url', `"${base}" has a query or fragment; give the server's base URL, e.g. ${DEFAULT_SERVER_URL}`);
  // One meaning everywhere: a base that already names an endpoint would silently become ".../v1/events/v1/events".
  if (/\/v1(\/|$)/.test(url.pathname)) {
    throw new ConfigError('--url', `"${base}" names an API path; give the server's base URL without /v1/…, e.g. ${url.origin}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return new URL(path.replace(/^\//, ''), url);
}

export function apiKeyOf(opts: { apiKey?: string }): string | undefined {
  return opts.apiKey ?? (process.env.AUDITSTREAM_API_KEY || undefined);
}

/** A request to the server; the only error it throws is "cannot reach", with the system's reason (ECONNREFUSED, ENOTFOUND…). */
export async function callServer(opts: ServerOptions, path: string, init: RequestInit = {}): Promise<Response> {
  const url = serverEndpoint(opts.url, path);
  const headers = new Headers(init.headers);
  const key = apiKeyOf(opts);
  if (key) headers.set('authorization', `Bearer ${key}`);
  try {
    return await fetch(url, { ...init, headers });
  } catch (err) {
    const cause = ((err as Error).cause as { code?: string; message?: string } | undefined) ?? {};
    throw new Error(`cannot reach ${url.href}: ${cause.code ?? cause.message ?? (err as Error).message}`);
  }
}

/** The server's JSON answer, or `{}` for a body that is not JSON (a proxy's HTML error page). */
export async function answerOf<T extends object>(res: Response): Promise<Partial<T> & { error?: string; code?: string }> {
  const text = await res.text();
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** Why an answer is a failure, in words a user can act on. */
export function failureOf(res: Response, answer: { error?: string }, usedKey: boolean): string {
  const said = answer.error ?? res.statusText;
  if (res.status === 401) {
    return usedKey
      ? `HTTP 401 from ${res.url}: the server refused the API key (${said}); check --api-key or AUDITSTREAM_API_KEY`
      : `HTTP 401 from ${res.url}: the server needs an API key (${said}); pass --api-key or set AUDITSTREAM_API_KEY`;
  }
  return `HTTP ${res.status} from ${res.url}: ${said}`;
}
