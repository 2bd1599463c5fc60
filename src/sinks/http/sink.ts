import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { AuditEvent } from '../../core/event.js';
import { ConfigError, errorMessage, RetriableError } from '../../core/errors.js';
import type { CheckStep, ConnectGuard, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from '../sink.js';
import { httpSinkSchema, secretFields, type HttpSinkConfig } from './config.js';
import { bodyShapeOf, DATADOG_DEFAULT_URL, type BodyShape } from './presets.js';
import { bulkOutcomes, connectionError, splunkSetupVerdict, truncatedBody, verdictOf, type HttpAnswer } from './response.js';
import { substituteSecrets } from './secrets.js';

const gzip = promisify(gzipCb);

/** An answer body larger than this is cut: a _bulk answer for 1000 items is far smaller. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Posts batches of events to an HTTP endpoint: a generic webhook, Splunk HEC,
 * Elasticsearch/OpenSearch `_bulk` or Datadog's logs intake. An event is
 * delivered when the endpoint answered 2xx for the request that carried it
 * (for `_bulk`, when its own item succeeded).
 */
export class HttpSink implements Sink {
  readonly batch;
  private readonly shape: BodyShape;
  private readonly url: URL;
  /** The endpoint as errors and logs name it: the config's own path, with its `${name}` references unresolved. */
  private readonly shownUrl: string;
  private readonly headers: OutgoingHttpHeaders;
  private readonly signingKey: string | undefined;
  private readonly agent: HttpAgent;
  private readonly ca: Buffer | undefined;
  private readonly guard: ConnectGuard | undefined;

  constructor(
    private readonly config: HttpSinkConfig,
    ctx: SinkContext,
  ) {
    this.shape = bodyShapeOf(config);
    // Two requests at once: a destination answering slowly is no longer paid for once per batch.
    this.batch = { maxEvents: this.shape.maxEntries, maxBytes: this.shape.maxRequestBytes, lingerMs: 0, maxInFlight: 2 };
    const secret = resolveSecrets(config, ctx.configPath);
    this.url = new URL(secret.url ?? DATADOG_DEFAULT_URL);
    // The schema keeps references out of the host; this holds it whatever a URL parser makes of an odd spelling.
    if (this.url.origin !== new URL(config.url ?? DATADOG_DEFAULT_URL).origin) {
      throw new ConfigError(`${ctx.configPath}.url`, 'its secureParams references change the scheme, host or port; they may stand in the path or query only');
    }
    if (this.url.pathname === '/' && this.shape.path !== '/') this.url.pathname = this.shape.path;
    this.shownUrl = shownUrl(config.url ?? DATADOG_DEFAULT_URL, this.shape.path);
    this.headers = { ...secret.headers, 'content-type': this.shape.contentType, 'user-agent': 'auditstream', ...secret.auth };
    if (config.gzip) this.headers['content-encoding'] = 'gzip';
    this.signingKey = secret.signingKey;
    if (config.tls?.caFile) {
      try {
        this.ca = readFileSync(config.tls.caFile);
      } catch (err) {
        throw new ConfigError(`${ctx.configPath}.tls.caFile`, `cannot read ${config.tls.caFile}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
    }
    this.guard = ctx.connectGuard;
    const lookup = this.guard ? { lookup: this.guard.lookup } : {};
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, ...lookup, ...(this.ca ? { ca: this.ca } : {}) }) : new HttpAgent({ keepAlive: true, ...lookup });
  }

  async send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = new Array(batch.length);
    const requests: { at: number[]; entries: string[] }[] = [];
    let current = { at: [] as number[], entries: [] as string[] };
    let bytes = 0;
    batch.forEach((event, i) => {
      const entry = this.shape.entryOf(event);
      const size = Buffer.byteLength(entry);
      if (size + this.shape.overheadBytes(1) > this.shape.maxRequestBytes) {
        outcomes[i] = { status: 'rejected', reason: `entry of ${size} bytes is over the ${this.shape.maxRequestBytes}-byte request limit of ${this.config.preset}` };
        return;
      }
      if (current.entries.length === this.shape.maxEntries || bytes + size + this.shape.overheadBytes(current.entries.length + 1) > this.shape.maxRequestBytes) {
        requests.push(current);
        current = { at: [], entries: [] };
        bytes = 0;
      }
      current.at.push(i);
      current.entries.push(entry);
      bytes += size;
    });
    if (current.entries.length > 0) requests.push(current);

    for (const [n, req] of requests.entries()) {
      try {
        const settled = await this.deliver(req.entries, signal);
        settled.forEach((o, j) => (outcomes[req.at[j]!] = o));
      } catch (err) {
        // Nothing settled yet: fail the call, so the emitter honours Retry-After (or goes `failing`).
        if (n === 0) throw err;
        for (const later of requests.slice(n)) for (const i of later.at) outcomes[i] = { status: 'retry', reason: errorMessage(err) };
        break;
      }
    }
    return outcomes;
  }

  /**
   * One request; a refused request (400, 413 …) of several entries is split in
   * halves until the refused entries are alone, so one bad event is
   * dead-lettered and the rest delivered. A destination that took part of a
   * refused request (Splunk indexes the events before an invalid one) gets
   * those again: at least once.
   */
  private async deliver(entries: string[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const answer = await this.post(entries, signal);
    if (answer.status >= 200 && answer.status < 300) {
      return this.config.preset === 'elasticsearch' ? bulkOutcomes(answer.body, entries.length) : entries.map(() => ({ status: 'delivered' }));
    }
    const generic = verdictOf(answer, `POST ${this.shownUrl}`);
    const verdict = this.config.preset === 'splunk-hec' ? splunkSetupVerdict(generic, answer) : generic;
    if (verdict.kind !== 'reject') throw verdict.error;
    if (entries.length === 1) return [{ status: 'rejected', reason: verdict.reason }];
    const half = Math.ceil(entries.length / 2);
    const first = await this.deliver(entries.slice(0, half), signal);
    const second = await this.deliver(entries.slice(half), signal).catch((err: unknown) => entries.slice(half).map((): DeliveryOutcome => ({ status: 'retry', reason: errorMessage(err) })));
    return [...first, ...second];
  }

  private async post(entries: readonly string[], signal: AbortSignal): Promise<HttpAnswer> {
    const text = this.shape.bodyOf(entries);
    const headers: OutgoingHttpHeaders = { ...this.headers };
    if (this.signingKey !== undefined && this.config.signature) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers[this.config.signature.timestampHeader.toLowerCase()] = timestamp;
      headers[this.config.signature.header.toLowerCase()] = `sha256=${signatureOf(this.signingKey, timestamp, text)}`;
    }
    const body = this.config.gzip ? await gzip(text) : Buffer.from(text);
    headers['content-length'] = body.length;
    return this.request('POST', this.url, headers, body, signal);
  }

  private request(method: string, url: URL, headers: OutgoingHttpHeaders, body: Buffer | undefined, signal: AbortSignal, fresh = false): Promise<HttpAnswer> {
    const what = `${method} ${url === this.url ? this.shownUrl : `${url.origin}${url.pathname}`}`;
    signal.throwIfAborted();
    // An IP literal is never looked up, so the guard's lookup would not see it.
    const refused = this.guard?.refusal(url.hostname);
    if (refused) return Promise.reject(connectionError(refused, what));
    return new Promise<HttpAnswer>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method, headers, agent: this.agent, signal, timeout: this.config.timeoutMs }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(connectionError(err, what)));
      });
      // No answer within timeoutMs: the request may or may not have been taken; the events are sent again.
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.config.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => {
        // The server closed an idle kept-alive connection just as we reused it (the race Node's docs describe under
        // request.reusedSocket): it read nothing of this request, so try once on a new connection.
        if (!fresh && req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' && !signal.aborted) {
          resolve(this.request(method, url, headers, body, signal, true));
          return;
        }
        reject(signal.aborted ? new RetriableError(`${what}: aborted`, { cause: err }) : connectionError(err, what));
      });
      req.end(body);
    });
  }

  async check(signal: AbortSignal): Promise<CheckStep[]> {
    const steps: CheckStep[] = [];
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    try {
      const { address } = await this.resolve(host);
      steps.push({ step: `resolve ${host}`, ok: true, detail: address });
    } catch (err) {
      steps.push({ step: `resolve ${host}`, ok: false, detail: `${(err as NodeJS.ErrnoException).code ?? ''} ${errorMessage(err)}`.trim() });
      return steps;
    }
    const connectStep = `connect to ${host}:${port}${this.url.protocol === 'https:' ? ' over TLS' : ''}`;
    try {
      await this.connectOnce(host, port, signal);
      steps.push({ step: connectStep, ok: true, detail: '' });
    } catch (err) {
      steps.push({ step: connectStep, ok: false, detail: connectionError(err, 'connect').message });
      return steps;
    }
    const probe = this.probe();
    if (!probe) return steps;
    try {
      const answer = await this.request('GET', probe.url, probe.headers, undefined, signal);
      steps.push({ step: probe.step, ...probe.judge(answer) });
    } catch (err) {
      steps.push({ step: probe.step, ok: false, detail: errorMessage(err) });
    }
    return steps;
  }

  /** The harmless request a product offers to prove the endpoint (none for a webhook or Datadog's intake). */
  private probe(): { step: string; url: URL; headers: OutgoingHttpHeaders; judge: (a: HttpAnswer) => { ok: boolean; detail: string } } | undefined {
    const auth = { ...this.headers };
    delete auth['content-type'];
    delete auth['content-encoding'];
    if (this.config.preset === 'splunk-hec') {
      // https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTinput#services.2Fcollector.2Fhealth
      return {
        step: 'GET /services/collector/health',
        url: new URL('/services/collector/health', this.url),
        headers: auth,
        judge: (a) => ({ ok: a.status === 200, detail: a.status === 200 ? truncatedBody(a.body) : `HTTP ${a.status}: ${truncatedBody(a.body) || 'HEC is not healthy or not enabled'}` }),
      };
    }
    if (this.config.preset === 'elasticsearch') {
      return {
        step: 'GET / (cluster info, with the credentials)',
        url: new URL('/', this.url),
        headers: auth,
        judge: (a) => {
          if (a.status === 401 || a.status === 403) return { ok: false, detail: `HTTP ${a.status}: the credentials are refused: ${truncatedBody(a.body)}` };
          if (a.status !== 200) return { ok: false, detail: `HTTP ${a.status}: ${truncatedBody(a.body)}` };
          try {
            const info = JSON.parse(a.body) as { cluster_name?: string; version?: { number?: string; distribution?: string } };
            return { ok: true, detail: `${info.version?.distribution ?? 'elasticsearch'} ${info.version?.number ?? '?'}, cluster ${info.cluster_name ?? '?'}` };
          } catch {
            return { ok: false, detail: `answered 200 but not with Elasticsearch cluster info: ${truncatedBody(a.body)}` };
          }
        },
      };
    }
    return undefined;
  }

  /** The address a connection would use, refused as the connection would be. */
  private async resolve(host: string): Promise<{ address: string }> {
    if (!this.guard) return lookup(host);
    const refused = this.guard.refusal(host);
    if (refused) throw refused;
    const guarded = this.guard.lookup;
    return new Promise((resolve, reject) => guarded(host, {}, (err, address) => (err ? reject(err) : resolve({ address: address as string }))));
  }

  private connectOnce(host: string, port: number, signal: AbortSignal): Promise<void> {
    const lookup = this.guard ? { lookup: this.guard.lookup } : {};
    return new Promise((resolve, reject) => {
      const socket =
        this.url.protocol === 'https:'
          ? tlsConnect({ host, port, ...lookup, ...(isIP(host) ? {} : { servername: host }), ...(this.ca ? { ca: this.ca } : {}) }, () => done())
          : netConnect({ host, port, ...lookup }, () => done());
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no connection within ${this.config.timeoutMs} ms`), { code: 'ETIMEDOUT' })), this.config.timeoutMs);
      const onAbort = () => socket.destroy(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      function done(err?: Error) {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (err) reject(err);
        else resolve();
      }
      socket.on('error', done);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/**
 * The HMAC-SHA256 signature, hex: over `<timestamp>.<body>`, the body as
 * sent before any gzip (what a receiver's framework hands over after
 * decoding Content-Encoding). The receiver recomputes it and refuses an old
 * timestamp, so a captured request cannot be replayed later.
 */
export function signatureOf(key: string, timestamp: string, body: string): string {
  return createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex');
}

function resolveSecrets(c: HttpSinkConfig, configPath: string): { headers: Record<string, string>; auth: Record<string, string>; signingKey: string | undefined; url: string | undefined } {
  const values = new Map<string, string>();
  for (const { path, value } of secretFields(c)) {
    // The schema proved every reference is defined; a secret may still hold a line break, which no header may.
    const resolved = substituteSecrets(value, c.secureParams);
    if (path[0] !== 'signature' && /[\r\n]/.test(resolved)) throw new ConfigError(`${configPath}.${path.join('.')}`, `its secureParams value contains a line break, which ${path[0] === 'url' ? 'a URL' : 'an HTTP header'} may not`);
    values.set(path.join('.'), resolved);
  }
  const headers = Object.fromEntries(Object.keys(c.headers).map((name) => [name.toLowerCase(), values.get(`headers.${name}`)!]));
  const auth: Record<string, string> = {};
  if (c.auth?.bearer !== undefined) auth.authorization = `Bearer ${values.get('auth.bearer')}`;
  if (c.auth?.username !== undefined) auth.authorization = `Basic ${Buffer.from(`${values.get('auth.username')}:${values.get('auth.password')}`).toString('base64')}`;
  if (c.auth?.apiKey !== undefined) auth.authorization = `ApiKey ${values.get('auth.apiKey')}`;
  if (c.splunk) auth.authorization = `Splunk ${values.get('splunk.token')}`;
  if (c.datadog) auth['dd-api-key'] = values.get('datadog.apiKey')!;
  return { headers, auth, signingKey: values.get('signature.key'), url: values.get('url') };
}

/** Origin and path of the configured URL, without its query, as written: `${name}` stays, not its percent-encoded form. */
function shownUrl(configured: string, presetPath: string): string {
  const u = new URL(configured);
  const path = u.pathname === '/' && presetPath !== '/' ? presetPath : /^https?:\/\/[^/?#]*(\/[^?#]*)?/i.exec(configured)?.[1] ?? '/';
  return `${u.origin}${path}`;
}

export const httpSinkDefinition: SinkDefinition<HttpSinkConfig> = {
  type: 'http',
  schema: httpSinkSchema,
  validate: (config) => {
    if (!config.tls?.caFile) return [];
    try {
      readFileSync(config.tls.caFile);
      return [];
    } catch (err) {
      return [{ path: ['tls', 'caFile'], message: `cannot read ${config.tls.caFile}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` }];
    }
  },
  create: (config, ctx) => new HttpSink(config, ctx),
};
