import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { FatalError, RetriableError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { httpSinkDefinition } from '../../src/sinks/http/sink.js';
import { startEmitter } from '../support/emitter-harness.js';
import { freePort } from '../support/free-port.js';
import { startHttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';
import { emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

// Splunk, Elasticsearch and Datadog do not run here: each is stood in for by a
// real HTTP server on loopback that implements the documented request and
// answer shapes of the product (the doc page is cited where it is built).

function events(n: number, prefix = 'h'): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(5, '0')}`,
    time: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, i)).toISOString(),
    type: 'login',
    source: 'blitz',
    outcome: 'success' as const,
    actor: `user${i % 4}`,
    details: { n: i },
    raw: `raw line ${i}`,
  }));
}

function createSink(t: TestContext, config: Record<string, unknown>) {
  const parsed = parseConfig(httpSinkDefinition.schema, config, 'audit.emitters[0]');
  const sink = httpSinkDefinition.create(parsed, { configPath: 'audit.emitters[0]', emitterName: 'http', dataDir: '/nonexistent', logger: createLogger('fatal'), metrics: new Registry() });
  t.after(() => sink.close());
  return sink;
}

const signal = () => AbortSignal.timeout(15_000);
const ids = (list: readonly { id: string }[]) => list.map((e) => e.id);

test('generic webhook: a JSON array with bearer auth and custom headers, secrets from secureParams', async (t) => {
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const sink = createSink(t, { url: `${receiver.url}/hook`, auth: { bearer: '${tok}' }, headers: { 'X-Tenant': 'acme', 'X-Key': 'k-${tok}' }, secureParams: { tok: 's3cret' } });
  const batch = events(30);
  assert.deepEqual((await sink.send(batch, signal())).map((o) => o.status), batch.map(() => 'delivered'));
  const [req] = receiver.requests;
  assert.equal(req!.path, '/hook');
  assert.equal(req!.headers.authorization, 'Bearer s3cret');
  assert.equal(req!.headers['x-tenant'], 'acme');
  assert.equal(req!.headers['x-key'], 'k-s3cret');
  assert.equal(req!.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(req!.text), batch);
});

test('generic webhook: NDJSON, gzip, basic auth and an HMAC signature the receiver verifies', async (t) => {
  const key = 'hmac-key-1';
  const receiver = await startHttpReceiver(t, (req) => {
    // What a receiver does, as docs/http-emitter.md tells it: HMAC-SHA256 over "<timestamp>.<body>", body after gunzip.
    const timestamp = String(req.headers['x-auditstream-timestamp']);
    const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(`${timestamp}.${req.text}`).digest('hex')}`);
    const given = Buffer.from(String(req.headers['x-auditstream-signature']));
    const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
    return given.length === expected.length && timingSafeEqual(given, expected) && fresh ? { status: 204 } : { status: 401, body: 'bad signature' };
  });
  const sink = createSink(t, { url: receiver.url, format: 'ndjson', gzip: true, codec: 'raw', auth: { username: 'u', password: '${pw}' }, signature: { key: '${hk}' }, secureParams: { pw: 'p:w', hk: key } });
  const batch = events(50);
  assert.deepEqual((await sink.send(batch, signal())).map((o) => o.status), batch.map(() => 'delivered'));
  const req = receiver.requests[0]!;
  assert.equal(req.headers['content-encoding'], 'gzip');
  assert.equal(req.headers['content-type'], 'application/x-ndjson');
  assert.equal(req.headers.authorization, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
  assert.ok(req.wire.length < Buffer.byteLength(req.text), 'the wire body is compressed');
  assert.deepEqual(req.text.split('\n').filter((l) => l !== ''), batch.map((e) => e.raw));

  const wrongKey = createSink(t, { url: receiver.url, signature: { key: 'other' } });
  await assert.rejects(wrongKey.send(events(1), signal()), (err: unknown) => err instanceof FatalError && /HTTP 401: bad signature/.test(err.message));
});

test('a url whose path and query use ${names} from secureParams: the request goes to the resolved URL, errors name the unresolved one', async (t) => {
  const receiver = await startHttpReceiver(t, (req) => (req.path.startsWith('/services/') ? { status: 503, body: 'busy' } : { status: 200 }));
  const secureParams = { hook: 'T0001/B0002/XyZsecret', sig: 'q-secret-9' };
  const sink = createSink(t, { url: `${receiver.url}/services/\${hook}?sig=\${sig}`, secureParams });
  await assert.rejects(sink.send(events(1), signal()), (err: unknown) => {
    assert.ok(err instanceof RetriableError);
    assert.equal(err.message, `POST ${receiver.url}/services/\${hook} answered HTTP 503: busy`);
    return true;
  });
  assert.equal(receiver.requests[0]!.path, '/services/T0001/B0002/XyZsecret?sig=q-secret-9');

  const problems = (config: Record<string, unknown>) => httpSinkDefinition.schema.safeParse(config).error?.issues.map((i) => [i.path.join('.'), i.message]) ?? [];
  assert.deepEqual(problems({ url: 'https://h/services/${hook}' }), [['url', '${hook} is not defined in secureParams']]);
  assert.deepEqual(problems({ url: 'https://${host}/x', secureParams: { host: 'evil.example' } }), [['url', 'a ${name} from secureParams may stand in the path or query only, not in the host or port']]);
  // Without `//` the parser still reads a host: the check goes by what it reads, not by the spelling.
  assert.ok(problems({ url: 'http:${host}.evil.example/x', secureParams: { host: 'a' } }).some(([k, m]) => k === 'url' && /not in the host or port/.test(m!)));
  assert.deepEqual(problems({ url: 'https://${user}@h.example/x', secureParams: { user: 'a' } }), [['url', 'a ${name} from secureParams may stand in the path or query only, not in the host or port']]);
  const port = problems({ url: 'https://h:${port}/x', secureParams: { port: '1' } });
  assert.ok(port.length > 0 && port.every(([k]) => k === 'url'), JSON.stringify(port));
});

test('429 with Retry-After: the emitter waits that long, then delivers; 503 is retriable, a redirect fatal', async (t) => {
  let calls = 0;
  const receiver = await startHttpReceiver(t, () => (++calls === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' } : { status: 200 }));
  const sink = createSink(t, { url: receiver.url });
  await assert.rejects(sink.send(events(1), signal()), (err: unknown) => err instanceof RetriableError && err.retryAfterMs === 1000 && /HTTP 429: slow down/.test(err.message));

  calls = 0;
  receiver.requests.length = 0;
  const { emitter } = await startEmitter(t, sink, { name: 'http', retry: { initialBackoffMs: 10, maxBackoffMs: 5000 } });
  const reports = await Promise.all((await emitter.enqueue(events(5), true)).deliveries);
  assert.ok(reports.every((r) => r.delivered));
  assert.equal(receiver.requests.length, 2);
  const waited = receiver.requests[1]!.at - receiver.requests[0]!.at;
  assert.ok(waited >= 950, `the retry came ${waited} ms after the 429 (Retry-After: 1)`);

  const moved = await startHttpReceiver(t, () => ({ status: 308, headers: { location: 'https://elsewhere.example/hook' } }));
  await assert.rejects(createSink(t, { url: moved.url }).send(events(1), signal()), (err: unknown) => err instanceof FatalError && /HTTP 308, a redirect to https:\/\/elsewhere\.example\/hook: redirects are not followed/.test(err.message));
  const busy = await startHttpReceiver(t, () => ({ status: 503 }));
  await assert.rejects(createSink(t, { url: busy.url }).send(events(1), signal()), RetriableError);
});

test('400: only the event the endpoint refuses is dead-lettered with the status and body; the rest are delivered', async (t) => {
  const delivered: string[] = [];
  const receiver = await startHttpReceiver(t, (req) => {
    const batch = JSON.parse(req.text) as AuditEvent[];
    if (batch.some((e) => e.actor === 'mallory')) return { status: 400, body: { error: 'field actor: mallory is not allowed', detail: 'x'.repeat(2000) } };
    delivered.push(...ids(batch));
    return { status: 200 };
  });
  const sink = createSink(t, { url: receiver.url });
  const batch = events(40);
  batch[17] = { ...batch[17]!, actor: 'mallory' };
  const { emitter, deadLetter } = await startEmitter(t, sink, { name: 'http' });
  const reports = await Promise.all((await emitter.enqueue(batch, true)).deliveries);
  assert.deepEqual(reports.map((r, i) => [i, r.delivered]).filter(([, d]) => !d), [[17, false]]);
  assert.deepEqual(delivered.sort(), ids(batch).filter((id) => id !== batch[17]!.id).sort());
  const dead = readFileSync(deadLetter.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; reason: string });
  assert.deepEqual(dead.map((d) => d.eventId), [batch[17]!.id]);
  assert.match(dead[0]!.reason, /answered HTTP 400: \{"error":"field actor: mallory is not allowed"/);
  assert.ok(dead[0]!.reason.length < 700, 'the body in the reason is truncated');
});

test('a receiver that drops the connection before answering: retried, nothing lost', async (t) => {
  let calls = 0;
  const got = new Set<string>();
  const receiver = await startHttpReceiver(t, (req) => {
    if (++calls <= 2) return { status: 0, destroy: true };
    for (const e of JSON.parse(req.text) as AuditEvent[]) got.add(e.id);
    return { status: 200 };
  });
  const sink = createSink(t, { url: receiver.url });
  const { emitter } = await startEmitter(t, sink, { name: 'http' });
  const batch = events(300);
  const reports = await Promise.all((await emitter.enqueue(batch, true)).deliveries);
  assert.ok(reports.every((r) => r.delivered));
  assert.ok(calls > 2);
  assert.deepEqual([...got].sort(), ids(batch));
});

test('Splunk HEC: event envelopes to /services/collector/event with the Splunk token; Test & Add asks /services/collector/health', async (t) => {
  // https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector and
  // https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTinput (services/collector/event, services/collector/health)
  const indexed: Record<string, unknown>[] = [];
  const hec = await startHttpReceiver(t, (req) => {
    if (req.method === 'GET' && req.path === '/services/collector/health') return { status: 200, body: { text: 'HEC is healthy', code: 17 } };
    if (req.path !== '/services/collector/event') return { status: 404, body: { text: 'The requested URL was not found on this server.', code: 404 } };
    if (req.headers.authorization !== 'Splunk hec-token') return { status: 403, body: { text: 'Invalid token', code: 4 } };
    // HEC takes several event objects one after another in one body.
    for (const line of req.text.split('\n')) indexed.push(JSON.parse(line) as Record<string, unknown>);
    return { status: 200, body: { text: 'Success', code: 0 } };
  });
  const sink = createSink(t, { preset: 'splunk-hec', url: hec.url, splunk: { token: '${hec}', index: 'audit', host: 'idp01' }, secureParams: { hec: 'hec-token' } });
  const steps = await sink.check(signal());
  assert.deepEqual(steps.map((s) => [s.step, s.ok]), [
    ['resolve 127.0.0.1', true],
    [`connect to 127.0.0.1:${hec.port}`, true],
    ['GET /services/collector/health', true],
  ]);
  const batch = events(20);
  assert.deepEqual((await sink.send(batch, signal())).map((o) => o.status), batch.map(() => 'delivered'));
  assert.deepEqual(indexed[0], { time: Date.parse(batch[0]!.time) / 1000, host: 'idp01', source: 'auditstream', sourcetype: '_json', index: 'audit', event: batch[0] });
  assert.deepEqual(indexed.map((e) => (e.event as AuditEvent).id), ids(batch));

  const wrongToken = createSink(t, { preset: 'splunk-hec', url: hec.url, splunk: { token: 'nope' } });
  await assert.rejects(wrongToken.send(events(1), signal()), (err: unknown) => err instanceof FatalError && /HTTP 403: \{"text":"Invalid token","code":4\}/.test(err.message));
});

test('Splunk HEC: a 400 that refuses the token\'s setup (index not allowed, indexer acknowledgement on) keeps the events queued; one that refuses an event dead-letters it alone', async (t) => {
  // https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector (status codes 6, 7, 10)
  // Refused for as long as it takes to split a batch of six down to single events, until the token is fixed.
  const setup = [
    ...Array.from({ length: 12 }, () => ({ text: 'Incorrect index', code: 7, 'invalid-event-number': 0 })),
    ...Array.from({ length: 12 }, () => ({ text: 'Data channel is missing', code: 10 })),
  ];
  const indexed: string[] = [];
  const hec = await startHttpReceiver(t, (req) => {
    const refusal = setup.shift();
    if (refusal) return { status: 400, body: refusal };
    const lines = req.text.split('\n').map((l) => JSON.parse(l) as { event: AuditEvent });
    const bad = lines.findIndex((l) => l.event.actor === 'bad');
    if (bad !== -1) return { status: 400, body: { text: 'Invalid data format', code: 6, 'invalid-event-number': bad } };
    for (const l of lines) indexed.push(l.event.id);
    return { status: 200, body: { text: 'Success', code: 0 } };
  });
  const sink = createSink(t, { preset: 'splunk-hec', url: hec.url, splunk: { token: 'hec-token', index: 'audit' } });
  const { emitter, deadLetter } = await startEmitter(t, sink, { name: 'hec', retry: { initialBackoffMs: 10, maxBackoffMs: 50 } });
  const batch = events(6);
  batch[3] = { ...batch[3]!, actor: 'bad' };
  const reports = await Promise.all((await emitter.enqueue(batch, true)).deliveries);
  assert.deepEqual(reports.map((r) => r.delivered), [true, true, true, false, true, true]);
  assert.deepEqual(indexed.sort(), ids(batch.filter((_, i) => i !== 3)));
  assert.equal(deadLetter.written, 1, 'only the event HEC could not read is dead-lettered');
});

test('Elasticsearch _bulk: create actions with the event id; per item, 429 is retried alone, mapper_parsing_exception dead-lettered, 409 counts as delivered', async (t) => {
  // https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html (request NDJSON, response items)
  const docs = new Map<string, Record<string, unknown>>();
  let throttled = 0;
  const es = await startHttpReceiver(t, (req) => {
    if (req.headers.authorization !== `ApiKey ${Buffer.from('id:key').toString('base64')}`) return { status: 401, body: { error: { type: 'security_exception' }, status: 401 } };
    if (req.method === 'GET' && req.path === '/') return { status: 200, body: { name: 'n1', cluster_name: 'audit-cluster', version: { number: '8.14.0' }, tagline: 'You Know, for Search' } };
    assert.equal(req.path, '/_bulk');
    assert.equal(req.headers['content-type'], 'application/x-ndjson');
    const lines = req.text.split('\n');
    assert.equal(lines.pop(), '', 'the body ends with a newline');
    const items = [];
    for (let i = 0; i < lines.length; i += 2) {
      const { create } = JSON.parse(lines[i]!) as { create: { _index: string; _id: string } };
      const doc = JSON.parse(lines[i + 1]!) as Record<string, unknown> & { actor?: string };
      if (doc.actor === 'slow' && throttled++ === 0) items.push({ create: { _index: create._index, _id: create._id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution' } } });
      else if (doc.actor === 'bad') items.push({ create: { _index: create._index, _id: create._id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [details.n] of type [long]' } } });
      else if (docs.has(create._id)) items.push({ create: { _index: create._index, _id: create._id, status: 409, error: { type: 'version_conflict_engine_exception', reason: 'document already exists' } } });
      else {
        docs.set(create._id, { _index: create._index, ...doc });
        items.push({ create: { _index: create._index, _id: create._id, status: 201, result: 'created' } });
      }
    }
    return { status: 200, body: { took: 3, errors: items.some((i) => i.create.status >= 300), items } };
  });
  const sink = createSink(t, { preset: 'elasticsearch', url: es.url, elasticsearch: { index: 'audit-events' }, auth: { apiKey: Buffer.from('id:key').toString('base64') } });
  const steps = await sink.check(signal());
  assert.deepEqual(steps.at(-1), { step: 'GET / (cluster info, with the credentials)', ok: true, detail: 'elasticsearch 8.14.0, cluster audit-cluster' });

  const batch = events(30);
  batch[4] = { ...batch[4]!, actor: 'slow' };
  batch[9] = { ...batch[9]!, actor: 'bad' };
  docs.set(batch[12]!.id, { already: true });
  const { emitter, deadLetter } = await startEmitter(t, sink, { name: 'es' });
  const reports = await Promise.all((await emitter.enqueue(batch, true)).deliveries);
  assert.deepEqual(reports.map((r, i) => [i, r.delivered]).filter(([, d]) => !d), [[9, false]]);
  assert.equal(es.requests.filter((r) => r.method === 'POST').length, 2);
  const retried = es.requests.filter((r) => r.method === 'POST')[1]!.text.trim().split('\n');
  assert.deepEqual(JSON.parse(retried[0]!), { create: { _index: 'audit-events', _id: batch[4]!.id } }, 'only the throttled item is sent again');
  assert.equal(retried.length, 2);
  assert.equal(docs.get(batch[0]!.id)!['@timestamp'], batch[0]!.time);
  assert.equal(docs.size, 29);
  const dead = readFileSync(deadLetter.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; reason: string });
  assert.deepEqual(dead.map((d) => [d.eventId, d.reason]), [[batch[9]!.id, '_bulk item status 400: mapper_parsing_exception failed to parse field [details.n] of type [long]']]);

  const noKey = createSink(t, { preset: 'elasticsearch', url: es.url, elasticsearch: { index: 'audit-events' } });
  const refused = await noKey.check(signal());
  assert.equal(refused.at(-1)!.ok, false);
  assert.match(refused.at(-1)!.detail, /HTTP 401: the credentials are refused/);
});

test('Elasticsearch _bulk: items refused for the index rather than the document (a read-only block, a missing or closed index, no write permission) stay queued and are delivered once it is fixed', async (t) => {
  // What ES 7 / OpenSearch answer per item while the disk is over the flood-stage watermark (403), while the index
  // does not exist and auto-creation is off (404), while the role lacks the write privilege (403) and while the
  // index is closed (400 since ES 6, elastic/elasticsearch#25752): every document would be refused alike until
  // someone frees disk, creates or opens the index or grants the privilege.
  const blocked = { status: 403, error: { type: 'cluster_block_exception', reason: 'index [audit-events] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];' } };
  // Per request, which documents are refused and how; the last one refuses only the first document.
  const refusals: { refusal: object; first?: true }[] = [
    { refusal: blocked },
    { refusal: { status: 404, error: { type: 'index_not_found_exception', reason: 'no such index [audit-events]' } } },
    { refusal: { status: 403, error: { type: 'security_exception', reason: 'no permissions for [indices:data/write/bulk[s]]' } } },
    { refusal: { status: 400, error: { type: 'index_closed_exception', reason: 'closed', index: 'audit-events' } } },
    { refusal: blocked, first: true },
  ];
  const docs = new Set<string>();
  const es = await startHttpReceiver(t, (req) => {
    const now = refusals.shift();
    const lines = req.text.trim().split('\n');
    const items = [];
    for (let i = 0; i < lines.length; i += 2) {
      const { create } = JSON.parse(lines[i]!) as { create: { _index: string; _id: string } };
      if (now && (i === 0 || !now.first)) items.push({ create: { _index: create._index, _id: create._id, ...now.refusal } });
      else {
        docs.add(create._id);
        items.push({ create: { _index: create._index, _id: create._id, status: 201, result: 'created' } });
      }
    }
    return { status: 200, body: { took: 1, errors: now !== undefined, items } };
  });
  const sink = createSink(t, { preset: 'elasticsearch', url: es.url, elasticsearch: { index: 'audit-events' } });
  const { emitter, deadLetter } = await startEmitter(t, sink, { name: 'es' });
  const batch = events(5);
  const reports = await Promise.all((await emitter.enqueue(batch, true)).deliveries);
  assert.deepEqual(reports.map((r) => r.delivered), batch.map(() => true));
  assert.deepEqual([...docs].sort(), ids(batch));
  assert.equal(es.requests.length, 6, 'four refused whole, one in part, then the first document alone');
  assert.equal(es.requests[5]!.text.trim().split('\n').length, 2, 'only the refused document is sent again');
  assert.equal(deadLetter.written, 0, 'nothing dead-lettered');
});

test('Datadog logs intake: JSON arrays of at most 1000 entries with DD-API-KEY, ddsource/service/hostname/ddtags', async (t) => {
  // https://docs.datadoghq.com/api/latest/logs/#send-logs (v2 intake: 5 MB and 1000 entries per payload, 202 Accepted)
  const intake = await startHttpReceiver(t, (req) => {
    if (req.headers['dd-api-key'] !== 'dd-key') return { status: 403, body: { errors: ['Forbidden'] } };
    const entries = JSON.parse(req.text) as unknown[];
    if (entries.length > 1000 || req.wire.length > 5_000_000) return { status: 413, body: { errors: ['Payload too large'] } };
    return { status: 202, body: {} };
  });
  const sink = createSink(t, { preset: 'datadog', url: intake.url, gzip: true, datadog: { apiKey: '${dd}', service: 'idp', ddtags: 'env:prod,team:iam', hostname: 'idp01' }, secureParams: { dd: 'dd-key' } });
  const batch = events(2500);
  assert.deepEqual((await sink.send(batch, signal())).filter((o) => o.status !== 'delivered'), []);
  assert.deepEqual(intake.requests.map((r) => (JSON.parse(r.text) as unknown[]).length), [1000, 1000, 500]);
  const first = (JSON.parse(intake.requests[0]!.text) as Record<string, string>[])[0]!;
  assert.deepEqual({ ...first, message: JSON.parse(first.message!) }, { ddsource: 'auditstream', service: 'idp', hostname: 'idp01', ddtags: 'env:prod,team:iam', message: batch[0] });
  assert.equal(intake.requests[0]!.path, '/api/v2/logs');
  const steps = await sink.check(signal());
  assert.deepEqual(steps.map((s) => s.ok), [true, true], 'Datadog: resolve and connect only');
});

test('https with tls.caFile delivers; without the CA it is a fatal certificate error naming tls.caFile', async (t) => {
  const dir = await tempDir(t);
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  assert.equal(made.status, 0);
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }), { tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
  const sink = createSink(t, { url: receiver.url, tls: { caFile: join(dir, 'cert.pem') } });
  assert.equal((await sink.send(events(3), signal()))[0]!.status, 'delivered');
  const steps = await sink.check(signal());
  assert.deepEqual(steps.map((s) => s.ok), [true, true]);
  const untrusting = createSink(t, { url: receiver.url });
  await assert.rejects(untrusting.send(events(1), signal()), (err: unknown) => err instanceof FatalError && /tls\.caFile/.test(err.message));
  assert.match((await untrusting.check(signal()))[1]!.detail, /self-signed/i);
});

test('config: preset blocks, format, auth schemes and ${names} missing from secureParams are errors naming their keys', () => {
  const problems = (config: Record<string, unknown>) => httpSinkDefinition.schema.safeParse(config).error?.issues.map((i) => [i.path.join('.'), i.message]) ?? [];
  assert.deepEqual(problems({ preset: 'splunk-hec', url: 'http://h' }), [['splunk', 'the splunk-hec preset needs a splunk block']]);
  assert.deepEqual(problems({ url: 'http://h', datadog: { apiKey: 'k' } }), [['datadog', 'belongs to preset datadog, not generic']]);
  assert.deepEqual(problems({ preset: 'elasticsearch', url: 'http://h', elasticsearch: { index: 'a' }, format: 'ndjson' }), [['format', 'the elasticsearch preset has its own body format; format is for the generic webhook']]);
  assert.deepEqual(problems({ url: 'http://h', auth: { bearer: 'a', username: 'u', password: 'p' } }), [['auth', 'give one of bearer, username + password, or apiKey']]);
  assert.deepEqual(problems({ url: 'http://h', auth: { bearer: '${tok}' } }), [['auth.bearer', '${tok} is not defined in secureParams']]);
  assert.deepEqual(problems({ url: 'ftp://h' }), [['url', 'expected an http:// or https:// URL']]);
  assert.deepEqual(problems({ url: 'http://h', headers: { 'X-A': 'a\r\nInjected: 1' } }), [['headers.X-A', 'a header value may not contain a line break']]);
  assert.deepEqual(httpSinkDefinition.validate!(parseConfig(httpSinkDefinition.schema, { url: 'https://h', tls: { caFile: '/nonexistent/ca.pem' } }, 'e'), { emitterName: 'h', dataDir: '/tmp' }), [
    { path: ['tls', 'caFile'], message: 'cannot read /nonexistent/ca.pem: ENOENT' },
  ]);
});

test('through auditstream serve: the token sealed in the file, destination down, events wait on disk; all arrive once it is up', async (t) => {
  const port = await freePort();
  const dataDir = await tempDir(t);
  const server = await startServer(t, {
    dataDir,
    config: {
      audit: {
        emitters: [
          { type: 'http', name: 'hook', url: `http://127.0.0.1:${port}/ingest`, auth: { bearer: '${tok}' }, secureParams: { tok: 'plain-secret-42' }, retry: { initialBackoffMs: 50, maxBackoffMs: 500 } },
        ],
      },
    },
  });
  const configFile = readdirSync(dataDir).find((f) => f.startsWith('config-'))!;
  const sealed = readFileSync(join(dataDir, configFile), 'utf8');
  assert.ok(!sealed.includes('plain-secret-42') && sealed.includes('enc:v1:'), 'serve sealed the token in the config file');
  const sent = Array.from({ length: 200 }, (_, i) => ({ id: `srv-${i}`, type: 'login', time: '2024-01-01T00:00:00Z' }));
  assert.equal((await postEvents(server.url, sent.slice(0, 100))).status, 202);
  const down = await waitFor(async () => {
    const s = (await emitterStatus(server.url)).hook!;
    return s.lastError && s.depth === 100 ? s : null;
  }, 'events queued while the destination is down');
  assert.match(down.lastError!.message, /ECONNREFUSED/);
  assert.equal((await postEvents(server.url, sent.slice(100))).status, 202);

  const got = new Set<string>();
  await startHttpReceiver(t, (req: ReceivedRequest) => {
    if (req.headers.authorization !== 'Bearer plain-secret-42') return { status: 401 };
    for (const e of JSON.parse(req.text) as AuditEvent[]) got.add(e.id);
    return { status: 200 };
  }, { port });
  await waitFor(() => got.size === 200, 'all 200 delivered after the destination came up', 30_000);
  await waitFor(async () => (await emitterStatus(server.url)).hook!.depth === 0, 'queue drained');
});
