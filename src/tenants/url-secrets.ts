import { seal, unseal } from '../config/secure-params.js';

/**
 * The secrets a URL carries: every query parameter's value and its
 * fragment. Webhook URLs (Slack, Splunk, signed URLs) put their token there,
 * so these parts are treated as secrets are: sealed at rest, redacted in
 * answers. Scheme, host, port, path and the parameters' names stay as they
 * are, for the operator to recognise the endpoint. (A user or password in a
 * URL is refused outright by the destination policy.) The URL is taken
 * apart as text, not re-serialised, so what the sink is given back is
 * exactly what the tenant sent.
 */

/** A URL's text split into the parts that hold secrets and the parts that do not. */
interface UrlParts {
  /** Scheme, host, port and path: everything before `?` and `#`. */
  endpoint: string;
  /** `name=value` pairs as written; `name` alone is a value without a name (`?<token>`). */
  params: Param[] | undefined;
  fragment: string | undefined;
}

interface Param {
  /** Undefined for a parameter without `=`: all of it is its value. */
  name: string | undefined;
  value: string;
}

/** Why a PATCH's url cannot be restored from the stored one: the key path is named. */
export class RedactedUrlError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${key}: ${reason}`);
    this.name = 'RedactedUrlError';
  }
}

/** Sealed values are percent-encoded, so the stored URL still parses as one URL, its values as they were. */
const SEALED_IN_URL = encodeURIComponent('enc:v1:');

/** The URL with each secret part sealed (AES-256-GCM, the secure-params key); parts already sealed stay as they are. */
export function sealUrl(url: string, key: Buffer): string {
  return mapUrlSecrets(url, (v) => (v.startsWith(SEALED_IN_URL) ? v : encodeURIComponent(seal(v, key))));
}

/** The URL as the sink needs it, every sealed part opened. */
export function unsealUrl(url: string, key: Buffer, where: string): string {
  return mapUrlSecrets(url, (v) => (v.startsWith(SEALED_IN_URL) ? unseal(decodeURIComponent(v), key, where) : v));
}

/** The URL as an answer or a change event may show it. */
export function redactUrl(url: string, placeholder: string): string {
  return mapUrlSecrets(url, () => placeholder);
}

/** The URL's secret values as written in it (empty ones aside). */
export function urlSecretValues(url: string): string[] {
  const values: string[] = [];
  mapUrlSecrets(url, (v) => (values.push(v), v));
  return values;
}

/** The URL with every secret part passed through `f` (empty values, which hide nothing, are left as they are). */
function mapUrlSecrets(url: string, f: (value: string) => string): string {
  const parts = split(url);
  const g = (v: string) => (v === '' ? v : f(v));
  return join({
    ...parts,
    params: parts.params?.map((p) => ({ name: p.name, value: g(p.value) })),
    fragment: parts.fragment === undefined ? undefined : g(parts.fragment),
  });
}

/**
 * The patched URL with each `placeholder` part replaced by the stored URL's
 * value for the same part: the parameter of that name (its
 * n-th occurrence when it repeats), the fragment. Only for the same endpoint:
 * the stored secrets are not sent to a host the PATCH names.
 */
export function restoreUrlSecrets(key: string, patched: string, stored: string | undefined, placeholder: string): string {
  const p = split(patched);
  const usesPlaceholder = p.fragment === placeholder || (p.params ?? []).some((x) => x.value === placeholder);
  if (!usesPlaceholder) return patched;
  const resend = `send the whole url again, with its real values in place of ${placeholder}`;
  if (stored === undefined) throw new RedactedUrlError(key, `holds ${placeholder}, but no url is stored to take the values from; ${resend}`);
  if (endpointOf(patched) !== endpointOf(stored)) {
    throw new RedactedUrlError(key, `holds ${placeholder}, which keeps the stored values only for the same scheme, host, port and path; ${resend}`);
  }
  const s = split(stored);
  const restored = (what: string, value: string | undefined, from: string | undefined): string | undefined => {
    if (value !== placeholder) return value;
    if (from === undefined) throw new RedactedUrlError(key, `${what} is ${placeholder} but the stored url has none; ${resend}`);
    return from;
  };
  const seen = new Map<string | undefined, number>();
  const params = p.params?.map((x) => {
    const n = seen.get(x.name) ?? 0;
    seen.set(x.name, n + 1);
    const from = (s.params ?? []).filter((y) => y.name === x.name)[n]?.value;
    const what = x.name === undefined ? `the query's unnamed parameter ${n + 1}` : `the query parameter "${x.name}"${n > 0 ? ` (occurrence ${n + 1})` : ''}`;
    return { name: x.name, value: restored(what, x.value, from)! };
  });
  return join({ ...p, params, fragment: restored('the fragment', p.fragment, s.fragment) });
}

/** Scheme, host, port and path, as the URL parser normalises them; the text itself when it does not parse. */
function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}

// RFC 3986, appendix B: the query is after the first `?`, the fragment after the first `#`.
const URL_PARTS = /^([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;

function split(url: string): UrlParts {
  const [, endpoint = '', query, fragment] = URL_PARTS.exec(url)!;
  const params =
    query === undefined
      ? undefined
      : query.split('&').map((piece): Param => {
          const eq = piece.indexOf('=');
          return eq < 0 ? { name: undefined, value: piece } : { name: piece.slice(0, eq), value: piece.slice(eq + 1) };
        });
  return { endpoint, params, fragment };
}

function join(p: UrlParts): string {
  const query = p.params === undefined ? '' : `?${p.params.map((x) => (x.name === undefined ? x.value : `${x.name}=${x.value}`)).join('&')}`;
  return `${p.endpoint}${query}${p.fragment === undefined ? '' : `#${p.fragment}`}`;
}
