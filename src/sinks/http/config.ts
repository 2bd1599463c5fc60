import { z } from 'zod';
import { codecSchema } from '../../codecs/codec.js';
import { secretMap } from '../../config/secret-map.js';
import { timerMs } from '../../config/timers.js';
import { SecretReferenceError, substituteSecrets } from './secrets.js';

export const HTTP_PRESETS = ['generic', 'splunk-hec', 'elasticsearch', 'datadog'] as const;
export type HttpPreset = (typeof HTTP_PRESETS)[number];

/** Header names as RFC 9110 tokens; a value may not carry a line break (header injection). */
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name');
const headerValue = z.string().regex(/^[^\r\n]*$/, 'a header value may not contain a line break');

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const httpSinkSchema = z
  .strictObject({
    /**
     * The endpoint; for a preset, its base URL (the preset's path is added when the URL has none). Its path and
     * query may use `${name}` from secureParams: a webhook whose path is its token (Slack's) keeps it sealed.
     */
    url: httpUrl.optional(),
    preset: z.enum(HTTP_PRESETS).default('generic'),
    /** How the event becomes the body entry (src/codecs/codec.ts). */
    codec: codecSchema,
    /** Generic webhook only: a JSON array of entries, or one entry per line. */
    format: z.enum(['json-array', 'ndjson']).optional(),
    gzip: z.boolean().default(false),
    timeoutMs: timerMs.positive().default(30_000),
    headers: secretMap(headerName, headerValue).default({}),
    auth: z
      .strictObject({
        bearer: headerValue.min(1).optional(),
        username: headerValue.min(1).optional(),
        password: headerValue.optional(),
        /** Elasticsearch API key (the base64 "encoded" form), sent as `Authorization: ApiKey <key>`. */
        apiKey: headerValue.min(1).optional(),
      })
      .optional(),
    signature: z
      .strictObject({
        key: z.string().min(1),
        header: headerName.default('X-Auditstream-Signature'),
        timestampHeader: headerName.default('X-Auditstream-Timestamp'),
      })
      .optional(),
    tls: z.strictObject({ caFile: z.string().min(1) }).optional(),
    secureParams: secretMap(z.string(), z.string()).default({}),
    splunk: z
      .strictObject({
        token: headerValue.min(1),
        host: z.string().min(1).optional(),
        source: z.string().min(1).default('auditstream'),
        sourcetype: z.string().min(1).default('_json'),
        index: z.string().min(1).optional(),
      })
      .optional(),
    elasticsearch: z.strictObject({ index: z.string().regex(/^[^\s,"*\\/<>|?#A-Z_+-][^\s,"*\\/<>|?#A-Z]*$/, 'not a valid Elasticsearch index or data stream name (lowercase, no spaces or \\/*?"<>|,#)') }).optional(),
    datadog: z
      .strictObject({
        apiKey: headerValue.min(1),
        ddsource: z.string().min(1).default('auditstream'),
        service: z.string().min(1).default('auditstream'),
        hostname: z.string().min(1).optional(),
        ddtags: z.string().min(1).optional(),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (c.url === undefined && c.preset !== 'datadog') issue(['url'], `the ${c.preset} preset needs a url`);
    const blocks = { 'splunk-hec': 'splunk', elasticsearch: 'elasticsearch', datadog: 'datadog' } as const;
    for (const [preset, block] of Object.entries(blocks)) {
      if (c.preset === preset && c[block] === undefined) issue([block], `the ${preset} preset needs a ${block} block`);
      if (c.preset !== preset && c[block] !== undefined) issue([block], `belongs to preset ${preset}, not ${c.preset}`);
    }
    if (c.tls && c.url !== undefined && !c.url.startsWith('https:')) issue(['tls'], 'tls applies to an https:// url');
    if (c.format !== undefined && c.preset !== 'generic') issue(['format'], `the ${c.preset} preset has its own body format; format is for the generic webhook`);
    if (c.auth) {
      const schemes = [c.auth.bearer !== undefined, c.auth.username !== undefined || c.auth.password !== undefined, c.auth.apiKey !== undefined].filter(Boolean).length;
      if (schemes !== 1) issue(['auth'], 'give one of bearer, username + password, or apiKey');
      if ((c.auth.username === undefined) !== (c.auth.password === undefined)) issue(['auth', c.auth.username === undefined ? 'username' : 'password'], 'basic auth needs username and password');
      if (c.auth.apiKey !== undefined && c.preset !== 'elasticsearch') issue(['auth', 'apiKey'], 'apiKey is the Elasticsearch API key scheme; use bearer for a token');
      if (c.preset === 'splunk-hec' || c.preset === 'datadog') issue(['auth'], `the ${c.preset} preset authenticates with its ${c.preset === 'datadog' ? 'datadog.apiKey' : 'splunk.token'}`);
    }
    // The host is what the tenant policy checks and what the answers show: a secret may stand in the path or query only.
    if (c.url !== undefined && referencesInAuthority(c.url)) issue(['url'], 'a ${name} from secureParams may stand in the path or query only, not in the host or port');
    for (const { path, value } of secretFields(c)) {
      try {
        substituteSecrets(value, c.secureParams);
      } catch (err) {
        if (!(err instanceof SecretReferenceError)) throw err;
        issue(path, err.message);
      }
    }
  });

export type HttpSinkConfig = z.infer<typeof httpSinkSchema>;

/**
 * Whether `${` stands in the URL's host, port or user part, as the URL parser
 * reads them: a spelling without `//` (`http:${tok}.example/x`) still has a host.
 */
function referencesInAuthority(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not a URL at all: the url schema says so.
    return false;
  }
  return [u.host, u.username, u.password].some((part) => safeDecode(part).includes('${'));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every value that may hold `${name}` references to secureParams, with its key path. */
export function secretFields(c: HttpSinkConfig): { path: string[]; value: string }[] {
  const out: { path: string[]; value: string }[] = [];
  const add = (path: string[], value: string | undefined) => {
    if (value !== undefined) out.push({ path, value });
  };
  add(['url'], c.url);
  for (const [name, value] of Object.entries(c.headers)) add(['headers', name], value);
  add(['auth', 'bearer'], c.auth?.bearer);
  add(['auth', 'username'], c.auth?.username);
  add(['auth', 'password'], c.auth?.password);
  add(['auth', 'apiKey'], c.auth?.apiKey);
  add(['signature', 'key'], c.signature?.key);
  add(['splunk', 'token'], c.splunk?.token);
  add(['datadog', 'apiKey'], c.datadog?.apiKey);
  return out;
}
