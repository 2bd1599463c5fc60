import { isSealed, seal, unseal } from '../config/secure-params.js';
import { substituteSecrets } from '../sinks/http/secrets.js';
import { redactUrl, restoreUrlSecrets, sealUrl, unsealUrl, urlSecretValues } from './url-secrets.js';

/** What a secret value is replaced with in every answer. */
export const REDACTED = '********';

/** `*` stands for every key of the record at that point. */
type SecretPath = readonly string[];

const AWS_SECRETS: readonly SecretPath[] = [['credentials', 'secretAccessKey'], ['credentials', 'sessionToken']];

/** The keys of each destination type that hold secrets: sealed at rest, never returned. */
const SECRET_PATHS: Readonly<Record<string, readonly SecretPath[]>> = {
  http: [['auth', 'bearer'], ['auth', 'password'], ['auth', 'apiKey'], ['signature', 'key'], ['splunk', 'token'], ['datadog', 'apiKey'], ['headers', '*'], ['secureParams', '*']],
  kafka: [['sasl', 'password'], ['sasl', 'jaasConfig'], ['sasl', 'secureParams', '*'], ['ssl', 'keyPassword']],
  kinesis: AWS_SECRETS,
  s3: AWS_SECRETS,
};

/**
 * The keys of each destination type that hold a URL: its query values and
 * fragment are secrets (url-secrets.ts), the rest of it is not.
 */
const URL_KEYS: Readonly<Record<string, readonly string[]>> = {
  http: ['url'],
  kinesis: ['endpoint', 'stsEndpoint'],
  s3: ['endpoint', 'stsEndpoint'],
};

/** The config with every secret value sealed (AES-256-GCM, the secure-params key); values already sealed stay as they are. */
export function sealSecrets(type: string, config: Record<string, unknown>, key: Buffer): Record<string, unknown> {
  return mapUrls(type, mapSecrets(type, config, (v) => (isSealed(v) ? v : seal(v, key))), (url) => sealUrl(url, key));
}

/** The config as the sink needs it, every sealed value opened. */
export function unsealSecrets(type: string, config: Record<string, unknown>, key: Buffer, where: string): Record<string, unknown> {
  return mapUrls(type, mapSecrets(type, config, (v, path) => (isSealed(v) ? unseal(v, key, `${where}.${path}`) : v)), (url, k) => unsealUrl(url, key, `${where}.${k}`));
}

/** The config as an answer or a change event may show it. */
export function redactSecrets(type: string, config: Record<string, unknown>): Record<string, unknown> {
  return mapUrls(type, mapSecrets(type, config, () => REDACTED), (url) => redactUrl(url, REDACTED));
}

/** Values shorter than this are not looked for in text: they would match ordinary words, and hide nothing. */
const MIN_QUOTED_SECRET = 4;

/**
 * A function that replaces, in a text about this (plain) config, every
 * secret value of it by REDACTED: for what a sink says about its config (a
 * test step quoting the endpoint it tried), which sinks write without
 * knowing which of their keys are secrets.
 */
export function secretScrubber(type: string, config: Record<string, unknown>): (text: string) => string {
  const values: string[] = [];
  mapSecrets(type, config, (v) => (values.push(v), v));
  mapUrls(type, config, (url) => (values.push(...urlSecretValues(url)), url));
  const basic = basicCredentials(type, config);
  if (basic !== undefined) values.push(basic);
  const forms = new Set(values.filter((v) => v !== REDACTED).flatMap(quotedForms));
  const quoted = [...forms].filter((v) => v.length >= MIN_QUOTED_SECRET).sort((a, b) => b.length - a.length);
  return (text) => quoted.reduce((t, v) => t.replaceAll(v, REDACTED), text);
}

/**
 * The Authorization value an http destination's basic auth sends, base64 of
 * `username:password` as the sink resolves them: a receiver that echoes the
 * request's headers quotes it, and neither half appears in it as written.
 */
function basicCredentials(type: string, config: Record<string, unknown>): string | undefined {
  const auth = config.auth as { username?: unknown; password?: unknown } | undefined;
  if (type !== 'http' || typeof auth?.username !== 'string' || typeof auth.password !== 'string') return undefined;
  const params = (config.secureParams ?? {}) as Record<string, string>;
  try {
    return Buffer.from(`${substituteSecrets(auth.username, params)}:${substituteSecrets(auth.password, params)}`).toString('base64');
  } catch {
    // A reference to no secureParam: the sink refuses this config, so it never sends the header.
    return undefined;
  }
}

/** A path segment at least this long of a secret is looked for on its own: a receiver may echo part of its path. */
const MIN_QUOTED_SEGMENT = 8;

/**
 * The ways a receiver or a library may quote a secret back: as it is,
 * percent-encoded (a URL echoed as the request line had it), JSON-escaped
 * (PHP escapes "/", others every non-ASCII character), and, for a path token, each long enough segment.
 */
function quotedForms(v: string): string[] {
  const json = JSON.stringify(v).slice(1, -1);
  // Serialisers that write ASCII only (Python's json.dumps, Jackson's ESCAPE_NON_ASCII) quote anything else as \uxxxx or \uXXXX.
  const asciiJson = json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const forms = [v, encodeURIComponent(v), encodeURI(v), json, json.replaceAll('/', '\\/'), asciiJson, asciiJson.replace(/\\u[0-9a-f]{4}/g, (e) => e.toUpperCase().replace('\\U', '\\u'))];
  try {
    // As the URL parser writes it in a path and in a query, which encode different characters (`'` only in a query).
    forms.push(new URL(`http://x/${v}`).pathname.slice(1), new URL(`http://x/?${v}`).search.slice(1));
  } catch {
    // Not a path: the other forms stand.
  }
  if (v.includes('/')) forms.push(...v.split('/').filter((segment) => segment.length >= MIN_QUOTED_SEGMENT));
  return forms;
}

/**
 * A PATCH that leaves a secret as the REDACTED placeholder it was shown keeps the stored value:
 * a client may send back what it read without blanking the secret. In a
 * URL each redacted part is restored from the stored URL, for the same
 * endpoint only; one that cannot be is a RedactedUrlError naming the key.
 */
export function keepRedacted(type: string, patched: Record<string, unknown>, stored: Record<string, unknown>): Record<string, unknown> {
  const kept = mapSecrets(type, patched, (v, _path, keys) => (v === REDACTED ? (stringAt(stored, keys) ?? v) : v));
  return mapUrls(type, kept, (url, key) => restoreUrlSecrets(key, url, stringAt(stored, [key]), REDACTED));
}

/**
 * The secrets a PATCH would carry to another endpoint: when one of the
 * config's URLs changes scheme, host or port, each secret the patch does not
 * send again in clear, by key path. Kept from the stored config, they would go
 * wherever a `manage` key (perhaps stolen) points the destination.
 */
export function secretsCarriedToNewEndpoint(type: string, changes: Record<string, unknown>, stored: Record<string, unknown>, patched: Record<string, unknown>): string[] {
  const moved = (URL_KEYS[type] ?? []).some((key) => originOf(stored[key]) !== originOf(patched[key]));
  if (!moved) return [];
  const carried: string[] = [];
  mapSecrets(type, patched, (v, path, keys) => {
    const sent = stringAt(changes, keys);
    if (sent === undefined || sent === REDACTED) carried.push(path);
    return v;
  });
  return carried;
}

function originOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * `f` gets each secret's key path twice: joined with dots, to name it in a
 * message, and as its keys, to look it up (a header's name may hold a dot).
 */
function mapSecrets(type: string, config: Record<string, unknown>, f: (value: string, path: string, keys: readonly string[]) => string): Record<string, unknown> {
  const out = structuredClone(config);
  for (const path of SECRET_PATHS[type] ?? []) visit(out, path, [], f);
  return out;
}

/** The config with each of its type's URL keys that holds a string passed through `f`; a copy when one changes. */
function mapUrls(type: string, config: Record<string, unknown>, f: (url: string, key: string) => string): Record<string, unknown> {
  let out = config;
  for (const key of URL_KEYS[type] ?? []) {
    const url = config[key];
    if (typeof url === 'string') out = { ...out, [key]: f(url, key) };
  }
  return out;
}

function visit(node: unknown, rest: SecretPath, done: string[], f: (value: string, path: string, keys: readonly string[]) => string): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
  const record = node as Record<string, unknown>;
  const [head, ...tail] = rest;
  const keys = head === '*' ? Object.keys(record) : head !== undefined && head in record ? [head] : [];
  for (const k of keys) {
    if (tail.length > 0) visit(record[k], tail, [...done, k], f);
    else if (typeof record[k] === 'string') {
      const keys = [...done, k];
      record[k] = f(record[k], keys.join('.'), keys);
    }
  }
}

function stringAt(o: Record<string, unknown>, path: readonly string[]): string | undefined {
  let v: unknown = o;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : undefined;
}
