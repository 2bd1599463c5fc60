import { isSealed, seal, unseal } from '../config/secure-params.js';
import { secretFields, type HttpSinkConfig } from '../sinks/http/config.js';
import { SecretReferenceError, substituteSecrets } from '../sinks/http/secrets.js';
import { securityProtocolOf, type KafkaSinkConfig } from '../sinks/kafka/config.js';
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

/**
 * Every secret value of this (plain) config as written, with each secret
 * query value and fragment of its URLs: what a text about the config must
 * not show (secret-scrubber.ts).
 */
export function secretValues(type: string, config: Record<string, unknown>): string[] {
  const values: string[] = [];
  mapSecrets(type, config, (v) => (values.push(v), v));
  mapUrls(type, config, (url) => (values.push(...urlSecretValues(url)), url));
  return values.filter((v) => v !== REDACTED);
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
 * config's URLs changes scheme, host or port (an http destination also: its
 * Host header; a Kafka destination: its brokers, its security protocol or its
 * SASL mechanism), each secret the patch does not
 * send again in clear, by key path. Kept from the stored config, they would go
 * wherever a `manage` key (perhaps stolen) points the destination.
 */
export function secretsCarriedToNewEndpoint(type: string, changes: Record<string, unknown>, stored: Record<string, unknown>, patched: Record<string, unknown>): string[] {
  const notSent = (keys: readonly string[]) => {
    const sent = stringAt(changes, keys);
    return sent === undefined || sent === REDACTED;
  };
  const moved =
    (URL_KEYS[type] ?? []).some((key) => originOf(stored[key]) !== originOf(patched[key])) ||
    (type === 'http' && hostHeaderOf(stored) !== hostHeaderOf(patched)) ||
    (type === 'kafka' && (brokersOf(stored) !== brokersOf(patched) || kafkaLoginOf(stored) !== kafkaLoginOf(patched)));
  if (!moved) return type === 'http' ? secureParamsNewlyPlaced(stored, patched).filter((name) => notSent(['secureParams', name])).map((name) => `secureParams.${name}`) : [];
  const carried: string[] = [];
  mapSecrets(type, patched, (v, path, keys) => {
    if (notSent(keys)) carried.push(path);
    return v;
  });
  return carried;
}

/**
 * How a Kafka destination logs in, as one comparable text: SASL_PLAINTEXT or
 * PLAIN instead of SASL_SSL or SCRAM sends the same password in clear, as an
 * https url changed to http would.
 */
function kafkaLoginOf(config: Record<string, unknown>): string {
  const c = config as Pick<KafkaSinkConfig, 'securityProtocol' | 'sasl' | 'ssl'>;
  return `${securityProtocolOf(c)} ${c.sasl?.mechanism ?? 'PLAIN'}`;
}

/**
 * The Host header an http destination sends, as it goes on the wire: the
 * site a shared front (a CDN, a load balancer, a SaaS intake) hands the
 * request to, and over https the name (SNI) the connection is made for. The
 * url's origin stays the same while the request goes to someone else's site.
 */
function hostHeaderOf(config: Record<string, unknown>): string | undefined {
  const headers = isRecord(config.headers) ? config.headers : {};
  const params = isRecord(config.secureParams) ? (config.secureParams as Record<string, string>) : {};
  // Names are case-insensitive and the sink keeps the last of a repeated one.
  const value = Object.entries(headers).filter(([name]) => name.toLowerCase() === 'host').at(-1)?.[1];
  if (typeof value !== 'string') return undefined;
  try {
    return substituteSecrets(value, params).trim().toLowerCase();
  } catch (err) {
    if (err instanceof SecretReferenceError) return value;
    throw err;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Kafka destination's brokers, as one comparable text: the password goes to whichever of them answers. */
function brokersOf(config: Record<string, unknown>): string {
  const servers = Array.isArray(config.bootstrapServers) ? config.bootstrapServers : [];
  return servers.flatMap((entry) => String(entry).split(',').map((hostPort) => hostPort.trim().toLowerCase())).sort().join(',');
}

/**
 * The secureParams an http destination's patch references from a value it
 * changed (the url's path or query, a header): on the same origin a shared
 * receiver (a log intake, an Elasticsearch cluster) may store that text
 * where whoever changed it reads it, say as a tag or an index name.
 */
function secureParamsNewlyPlaced(stored: Record<string, unknown>, patched: Record<string, unknown>): string[] {
  const before = new Map(secretFields({ headers: {}, ...stored } as HttpSinkConfig).map((f) => [f.path.join('\n'), f.value]));
  const names = new Set<string>();
  for (const { path, value } of secretFields({ headers: {}, ...patched } as HttpSinkConfig)) {
    if (before.get(path.join('\n')) === value) continue;
    for (const [, name] of value.matchAll(/\$\{([^}]+)\}/g)) names.add(name!);
  }
  return [...names];
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
