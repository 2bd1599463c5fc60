import { dereference, validate, compileErrors } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ConfigError, ConfigErrors } from '../../src/core/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { startServer } from '../support/server-process.js';
import { blockedDir, tempDir, waitFor } from '../support/temp.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const ACCESS_KEY = 'firehose-access-key-0123456789';
const API_KEY = 'api-key-for-everything-else-0123';
const API = { authorization: `Bearer ${API_KEY}` };
const STREAM_ARN = 'arn:aws:firehose:us-east-1:111111111111:deliverystream/cwl-to-auditstream';

const fixture = (name: string) => readFileSync(join(FIXTURES, name));
/** A CloudWatch Logs subscription payload as Firehose's record data: gzip'd, then base64 in the delivery. */
const cloudWatchRecord = (name: string) => ({ data: gzipSync(fixture(name)).toString('base64') });

interface Delivery {
  requestId: string;
  timestamp: number;
  records: { data: string }[];
}

function delivery(requestId: string, records: { data: string }[]): Delivery {
  return { requestId, timestamp: 1619644400000, records };
}

/** POSTs as Firehose does: JSON body, the X-Amz-Firehose-* headers, optionally the body gzip'd. */
async function post(url: string, path: string, body: Delivery | string, o: { key?: string | null; gzip?: boolean; headers?: Record<string, string> } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amz-firehose-protocol-version': '1.0',
    'x-amz-firehose-source-arn': STREAM_ARN,
    'x-amz-firehose-common-attributes': JSON.stringify({ commonAttributes: { environment: 'prod' } }),
    ...o.headers,
  };
  if (typeof body !== 'string') headers['x-amz-firehose-request-id'] = body.requestId;
  if (o.key !== null) headers['x-amz-firehose-access-key'] = o.key ?? ACCESS_KEY;
  if (o.gzip) headers['content-encoding'] = 'gzip';
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: o.gzip ? gzipSync(text) : text });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The error answer Firehose expects: never 2xx, its request id back, a message it can log. */
function assertFirehoseError(res: { status: number; body: Record<string, unknown> }, status: number, requestId: string, message: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.requestId, requestId);
  assert.equal(typeof res.body.timestamp, 'number');
  assert.match(String(res.body.errorMessage), message);
}

/** A server whose firehose sources store into the audit store, answering once it has the events (ack: delivered). */
function startStoringServer(t: TestContext, dataDir: string, sources: object[], server: object = {}) {
  return startServer(t, { dataDir, config: { server: { apiKeys: [API_KEY], ...server }, sources, audit: { ack: 'delivered', emitters: [{ type: 'audit-store' }] } } });
}

async function storedEvents(url: string) {
  const res = await fetch(`${url}/v1/events?limit=1000`, { headers: API });
  assert.equal(res.status, 200);
  return ((await res.json()) as { events: { id: string; type: string; source: string; origin?: Record<string, string>; raw: string; details?: Record<string, unknown> }[] }).events;
}

test('a Firehose delivery of CloudWatch Logs payloads is acknowledged with its request id, searchable, and its retry stores nothing twice', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startStoringServer(t, dataDir, [{ type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY, nextAccessKey: 'the-key-rotated-in-next-0123' } }]);
  const blitz = JSON.parse(fixture('seeds/blitz-login.json').toString('utf8'));
  const request = delivery('ed4acda5-034f-9f42-bba1-f29aea6d7d8f', [
    cloudWatchRecord('firehose/cloudwatch-logs-subscription.json'),
    cloudWatchRecord('firehose/cloudwatch-logs-control-message.json'),
    // Not CloudWatch: any record the formats detect, here a Blitz event as NDJSON.
    { data: Buffer.from(`${JSON.stringify(blitz)}\n`).toString('base64') },
    { data: 'this is not base64!' },
  ]);

  const first = await post(server.url, '/v1/firehose/cwl', request);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(Object.keys(first.body).sort(), ['requestId', 'timestamp'], 'exactly the documented success answer');
  assert.equal(first.body.requestId, request.requestId);
  assert.ok(Math.abs(Number(first.body.timestamp) - Date.now()) < 60_000);

  // ack: delivered — already in the store when the 200 arrives.
  const events = await storedEvents(server.url);
  const byId = new Map(events.map((e) => [e.id, e]));
  const trail = byId.get('eb8c077f-321d-471a-b207-849f5089a428');
  assert.equal(trail?.type, 'cloudtrail.DescribeEventAggregates', 'the CloudTrail record inside the CloudWatch payload is parsed');
  assert.equal(trail?.origin?.logGroup, 'CloudTrail/logs');
  assert.equal(trail?.origin?.deliveryStreamArn, STREAM_ARN);
  assert.equal(trail?.origin?.firehoseRequestId, request.requestId);
  assert.equal(trail?.origin?.['attribute.environment'], 'prod');
  for (const id of ['31953106606966983378809025079804211143289615424298221569', '31953106606966983378809025079804211143289615424298221570']) {
    assert.equal(byId.get(id)?.type, 'cloudwatch.log', `the cut-off message ${id} is kept, not dropped`);
  }
  assert.equal(byId.get(blitz.id)?.source, 'blitz');
  const notBase64 = byId.get(`${request.requestId}:3`);
  assert.equal(notBase64?.type, 'unparsed', 'a record that is not base64 is kept as it came');
  assert.equal(notBase64?.raw, 'this is not base64!');
  assert.equal(events.length, 5, events.map((e) => e.id).join(', '));

  // Firehose retries with the same request id (a lost answer, a timeout): the same ids, so no second copy.
  const retry = await post(server.url, '/v1/firehose/cwl', request, { gzip: true });
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal(retry.body.requestId, request.requestId);
  assert.deepEqual((await storedEvents(server.url)).map((e) => e.id).sort(), [...byId.keys()].sort());

  // The rotated-in key works as well.
  const rotated = await post(server.url, '/v1/firehose/cwl', delivery('req-rotated', []), { key: 'the-key-rotated-in-next-0123' });
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /auditstream_component_sent_events_total\{component_kind="source",component_id="cwl",component_type="firehose"\} 10$/m);
});

test('VPC flow logs delivered by Firehose as {"message": "<line>"} are read by the source vpcFlowFormat', async (t) => {
  const dataDir = await tempDir(t);
  const vpcFlowFormat =
    '${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ' +
    '${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ' +
    '${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}';
  const server = await startStoringServer(t, dataDir, [{ type: 'firehose', name: 'flows', secureParams: { accessKey: ACCESS_KEY }, parse: 'vpc-flow', vpcFlowFormat }]);
  const line = fixture('formats/vpc-flow-v5-custom.log').toString('utf8').trimEnd();
  const wrapped = JSON.stringify({ message: line });
  const short = JSON.stringify({ message: line.split(' ').slice(0, 14).join(' ') });
  const res = await post(server.url, '/v1/firehose/flows', delivery('req-flows', [wrapped, short].map((r) => ({ data: Buffer.from(r).toString('base64') }))));
  assert.equal(res.status, 200, JSON.stringify(res.body));

  const events = await storedEvents(server.url);
  const flow = events.find((e) => e.type === 'vpc.flow');
  assert.equal(flow?.source, 'vpc-flow');
  assert.equal(flow?.raw, wrapped, 'raw keeps the record as Firehose delivered it');
  // A line of the wrong length is kept, saying why (parse: vpc-flow; under auto it would be no known format), not dropped.
  const kept = events.find((e) => e.type === 'unparsed');
  assert.match(String(kept?.details?.unparsedReason), /record: has 14 fields, the format has 29/);
  assert.equal(events.length, 2);
});

test('server.limits.maxDepth holds on Firehose records: a deeper one is kept as unparsed naming depth, the delivery acknowledged with its other records', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startStoringServer(t, dataDir, [{ type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } }], { limits: { maxDepth: 10 } });
  const record = (id: string, depth: number) => `{"id":"${id}","type":"login","time":"2024-05-01T10:00:00Z","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
  const records = [record('good', 10), record('deep', 11), record('overflowing', 100_000)];
  const res = await post(server.url, '/v1/firehose/cwl', delivery('req-deep', records.map((r) => ({ data: Buffer.from(r).toString('base64') }))));
  assert.equal(res.status, 200, JSON.stringify(res.body));

  const events = await storedEvents(server.url);
  assert.deepEqual(events.filter((e) => e.type === 'login').map((e) => e.id), ['good']);
  const kept = events.filter((e) => e.type === 'unparsed').sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(kept.map((e) => [e.id, e.details?.unparsedReason]), [
    ['req-deep:1', 'line 1: nested 11 levels deep, over server.limits.maxDepth (10)'],
    ['req-deep:2', 'line 1: nested 100000 levels deep, over server.limits.maxDepth (10)'],
  ]);
  assert.equal(kept[1]!.raw, records[2], 'kept whole, as text');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('records that would yield more than maxEventsPerRequest events are refused whole (413) before they are parsed, however small the request', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startStoringServer(t, dataDir, [
    { type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } },
    { type: 'firehose', name: 'small', secureParams: { accessKey: ACCESS_KEY }, maxEventsPerRequest: 3 },
  ]);
  const gzipped = (text: string) => ({ data: gzipSync(text).toString('base64') });
  // A few hundred bytes each; read, every `0` and every `{}` was an unparsed event (600,000 held the event loop 23 s).
  const zeros = `{"Records":[${Array(150_000).fill('0').join(',')}]}`;
  const logEvents = Array.from({ length: 150_000 }, (_, i) => ({ id: `e${i}`, timestamp: 1714557600000, message: '{}' }));
  const envelope = JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '111111111111', logGroup: 'g', logStream: 's', subscriptionFilters: [], logEvents });
  for (const [name, record] of [['records', zeros], ['lines', '{}\n'.repeat(150_000)], ['log events', envelope]] as const) {
    const started = Date.now();
    const res = await post(server.url, '/v1/firehose/cwl', delivery(`req-${name}`, [gzipped(record)]));
    assertFirehoseError(res, 413, `req-${name}`, /more than maxEventsPerRequest \(100000\) events; lower the Firehose stream's buffer size/);
    assert.equal(res.body.code, 'TOO_LARGE');
    assert.ok(Date.now() - started < 5_000, `${name}: answered in ${Date.now() - started} ms`);
  }
  // Counted over the request's records, unparsed ones included.
  const three = await post(server.url, '/v1/firehose/small', delivery('req-three', ['{}', '{}\n{}'].map(gzipped)));
  assert.equal(three.status, 200, JSON.stringify(three.body));
  const four = await post(server.url, '/v1/firehose/small', delivery('req-four', ['{}', '{"Records":[0,1,2]}'].map(gzipped)));
  assertFirehoseError(four, 413, 'req-four', /more than maxEventsPerRequest \(3\) events/);
  const events = await storedEvents(server.url);
  assert.deepEqual(events.map((e) => e.origin?.firehoseRequestId), ['req-three', 'req-three', 'req-three']);
});

test('a CloudWatch Logs payload whose logGroup is longer than CloudWatch allows is kept as one unparsed event, not copied onto each of its log events', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startStoringServer(t, dataDir, [{ type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } }]);
  const envelope = (logGroup: string) => ({
    messageType: 'DATA_MESSAGE',
    owner: '111111111111',
    logGroup,
    logStream: 'stream',
    subscriptionFilters: ['all'],
    logEvents: Array.from({ length: 200 }, (_, i) => ({ id: `${logGroup.length}-${i}`, timestamp: 1714557600000, message: `line ${i}` })),
  });
  const payload = (logGroup: string) => ({ data: gzipSync(JSON.stringify(envelope(logGroup))).toString('base64') });
  // 100 KB gzips to a few hundred bytes; copied onto 200 events it was 20 MB in the journal and the store.
  const res = await post(server.url, '/v1/firehose/cwl', delivery('req-long-group', [payload('g'.repeat(100_000)), payload('g'.repeat(512))]));
  assert.equal(res.status, 200, JSON.stringify(res.body));

  const events = await storedEvents(server.url);
  const kept = events.filter((e) => e.details?.unparsedReason !== undefined && e.origin?.logStream === undefined);
  assert.deepEqual(kept.map((e) => e.details?.unparsedReason), ['CloudWatch Logs data: logGroup: 100000 characters, over the 512 CloudWatch Logs allows (each log event would carry a copy)']);
  assert.equal(kept[0]!.raw, JSON.stringify(envelope('g'.repeat(100_000))), 'the payload is kept whole, as text');
  assert.equal(kept[0]!.origin?.logGroup, undefined);
  const logs = events.filter((e) => e.origin?.logStream === 'stream');
  assert.equal(logs.length, 200, 'a name of 512 characters is CloudWatch\'s own bound, and read as before');
  assert.ok(logs.every((e) => e.origin?.logGroup === 'g'.repeat(512)));
  assert.equal(events.length, 201);
});

test('the Firehose route takes only its access key, never an API key, and refuses in Firehose\'s error shape', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, {
    dataDir,
    config: {
      server: { apiKeys: [API_KEY] },
      sources: [
        { type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } },
        { type: 'firehose', name: 'tight', path: '/ingest/firehose', secureParams: { accessKey: ACCESS_KEY }, maxBodyBytes: '4KiB', maxRecordsPerRequest: 3, maxDecodedBytes: '64KiB' },
      ],
    },
  });
  const ok = delivery('req-auth', [{ data: Buffer.from('{"id":"auth-1","type":"login","time":"2024-01-01T00:00:00Z"}').toString('base64') }]);

  assertFirehoseError(await post(server.url, '/v1/firehose/cwl', ok, { key: null }), 401, 'req-auth', /missing X-Amz-Firehose-Access-Key/);
  assertFirehoseError(await post(server.url, '/v1/firehose/cwl', ok, { key: 'firehose-access-key-0123456780' }), 401, 'req-auth', /not one of this source's access keys/);
  assertFirehoseError(await post(server.url, '/v1/firehose/cwl', ok, { key: null, headers: API }), 401, 'req-auth', /missing X-Amz-Firehose-Access-Key/);
  // The access key opens the Firehose route only.
  assert.equal((await fetch(`${server.url}/v1/events`, { headers: { 'x-amz-firehose-access-key': ACCESS_KEY } })).status, 401);
  assert.equal((await fetch(`${server.url}/v1/events/auth-1`, { headers: API })).status, 404, 'nothing refused was stored');

  // A key is checked before the body is read: even an oversize body gets 401, not 413.
  assertFirehoseError(await post(server.url, '/ingest/firehose', 'x'.repeat(10_000), { key: 'wrong-key-wrong-key-wrong' }), 401, '', /not one of/);
  assertFirehoseError(await post(server.url, '/ingest/firehose', delivery('req-big', [{ data: 'QUFB'.repeat(2000) }])), 413, 'req-big', /maxBodyBytes \(4096 bytes\)/);
  // The limit is on the body as read, gzip undone: a small gzip'd body that inflates past it is refused too.
  assertFirehoseError(await post(server.url, '/ingest/firehose', delivery('req-gzbig', [{ data: 'QUFB'.repeat(2000) }]), { gzip: true }), 413, 'req-gzbig', /maxBodyBytes/);
  const bomb = gzipSync(Buffer.alloc(1024 * 1024, 'a')).toString('base64');
  assertFirehoseError(await post(server.url, '/ingest/firehose', delivery('req-bomb', [{ data: bomb }])), 413, 'req-bomb', /maxDecodedBytes \(65536 bytes\)/);
  assertFirehoseError(await post(server.url, '/ingest/firehose', delivery('req-many', Array.from({ length: 4 }, () => ({ data: 'e30=' })))), 413, 'req-many', /4 records, over maxRecordsPerRequest \(3\)/);
  assertFirehoseError(await post(server.url, '/v1/firehose/cwl', { ...ok, records: [{ data: 42 }] } as unknown as Delivery), 400, 'req-auth', /records\[0\]\.data: expected a base64 string/);
  assertFirehoseError(await post(server.url, '/v1/firehose/cwl', '{"requestId":'), 400, '', /not JSON/);

  const accepted = await post(server.url, '/v1/firehose/cwl', ok, { gzip: true });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  // ack: buffered — queued when the 200 arrives, in the store soon after.
  await waitFor(async () => (await fetch(`${server.url}/v1/events/auth-1`, { headers: API })).status === 200, 'the accepted event in the store');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /auditstream_component_errors_total\{component_kind="source",component_id="cwl",component_type="firehose",error_type="unauthorized",stage="receiving"\} 3$/m);

  // The OpenAPI document names each source's route, with the access key as its only security, and its answers as given.
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as never;
  const checked = await validate(structuredClone(doc));
  assert.ok(checked.valid, checked.valid ? '' : compileErrors(checked));
  type Op = { security: unknown; responses: Record<string, { content: { 'application/json': { schema: object } } }> };
  const paths = ((await dereference(structuredClone(doc))) as unknown as { paths: Record<string, { post: Op }> }).paths;
  assert.ok(paths['/ingest/firehose']?.post, 'the custom path is documented');
  const op = paths['/v1/firehose/cwl']!.post;
  assert.deepEqual(op.security, [{ firehoseAccessKey: [] }]);
  const conforms = (status: number, body: unknown) => {
    const check = new Ajv({ strict: false }).compile(op.responses[String(status)]!.content['application/json'].schema);
    assert.ok(check(body), `${status} ${JSON.stringify(body)}: ${JSON.stringify(check.errors)}`);
  };
  conforms(200, accepted.body);
  const unauthorized = await post(server.url, '/v1/firehose/cwl', ok, { key: null });
  conforms(401, unauthorized.body);
});

test('a required destination down under ack: delivered answers non-200, so Firehose retries; the retry is acknowledged once it is back', async (t) => {
  const dataDir = await tempDir(t);
  const blocked = blockedDir(dataDir);
  const server = await startServer(t, {
    dataDir,
    config: {
      sources: [{ type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } }],
      audit: {
        ack: 'delivered',
        emitters: [{ type: 'log', name: 'required-log', file: join(blocked, 'a.log'), retry: { initialBackoffMs: 50, maxBackoffMs: 200 } }],
        emitToAllOf: ['required-log'],
        emitTimeoutInSec: 1,
      },
    },
  });
  const request = delivery('req-down', [cloudWatchRecord('firehose/cloudwatch-logs-subscription.json')]);
  const refused = await post(server.url, '/v1/firehose/cwl', request);
  assertFirehoseError(refused, 500, 'req-down', /delivery policy not met \(required-log: /);
  assert.equal(refused.body.code, 'DELIVERY_FAILED');

  rmSync(blocked);
  mkdirSync(blocked);
  await waitFor(async () => (await post(server.url, '/v1/firehose/cwl', request)).status === 200, 'the retry acknowledged once the destination works');
  const lines = () => readFileSync(join(blocked, 'a.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string });
  const ids = lines().map((e) => e.id);
  assert.ok(ids.includes('eb8c077f-321d-471a-b207-849f5089a428'), ids.join(', '));
});

test('a firehose path that is already a route stops the start with a config error naming the key', async (t) => {
  const dataDir = await tempDir(t);
  await assert.rejects(
    startServer(t, { dataDir, config: { sources: [{ type: 'firehose', name: 'cwl', path: '/v1/events', secureParams: { accessKey: ACCESS_KEY } }] } }),
    /sources\[0\]\.path: POST \/v1\/events is already a route/,
  );
});

test('a firehose source without a usable access key or path is a config error naming the key', () => {
  const problems = (source: object): string[] => {
    try {
      Pipeline.validate({ sources: [{ type: 'firehose', name: 'cwl', ...source }] });
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err instanceof ConfigErrors ? err.errors.map((e) => e.message) : [err.message];
    }
  };
  assert.deepEqual(problems({ secureParams: { accessKey: ACCESS_KEY } }), []);
  assert.match(problems({}).join('\n'), /^sources\[0\]\.secureParams: required: set at least one access key/);
  assert.match(problems({ secureParams: {} }).join('\n'), /^sources\[0\]\.secureParams: set at least one access key/);
  assert.match(problems({ secureParams: { accessKey: 'short' } }).join('\n'), /^sources\[0\]\.secureParams\.accessKey: an access key must be at least 16 characters/);
  assert.match(problems({ secureParams: { accessKey: ACCESS_KEY }, path: 'v1/x' }).join('\n'), /^sources\[0\]\.path: an absolute URL path/);
  assert.match(problems({ secureParams: { accessKey: ACCESS_KEY }, maxDecodedBytes: 0 }).join('\n'), /^sources\[0\]\.maxDecodedBytes: /);
});

/** Bytes under `dir`: the journal and the store, what a request costs on disk. */
function diskBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

test('common attributes, which every event of a request carries, are refused over maxCommonAttributesBytes before a byte is journaled; a few short ones are on every event', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startStoringServer(t, dataDir, [{ type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } }]);
  // 2000 events from 3 KB of gzip: with a 14 KB header each carried a copy, 28 MB on disk.
  const manyEvents = delivery('req-wide', [{ data: gzipSync('{}\n'.repeat(2000)).toString('base64') }]);
  const attributes = (values: Record<string, string>) => ({ 'x-amz-firehose-common-attributes': JSON.stringify({ commonAttributes: values }) });
  const before = diskBytes(dataDir);
  const wide = await post(server.url, '/v1/firehose/cwl', manyEvents, { headers: attributes({ a: 'x'.repeat(14_000) }) });
  assertFirehoseError(wide, 413, 'req-wide', /X-Amz-Firehose-Common-Attributes names and values total 14001 bytes, over maxCommonAttributesBytes \(1024 bytes\)/);
  assert.equal(wide.body.code, 'TOO_LARGE');
  // Multi-byte characters count as UTF-8 bytes, as they are stored.
  const wideUtf8 = await post(server.url, '/v1/firehose/cwl', { ...manyEvents, requestId: 'req-utf8' }, { headers: attributes({ é: 'é'.repeat(512) }) });
  assertFirehoseError(wideUtf8, 413, 'req-utf8', /total 1026 bytes/);
  assert.deepEqual(await storedEvents(server.url), [], 'nothing of a refused request is stored');
  const grown = diskBytes(dataDir) - before;
  assert.ok(grown < 1024 * 1024, `refused requests wrote ${grown} bytes`);

  // Names and values of exactly the limit, as a stream's few parameters are: on every event, as documented.
  const honest = { environment: 'prod', team: 't'.repeat(1024 - 'environment'.length - 'prod'.length - 'team'.length) };
  const ok = await post(server.url, '/v1/firehose/cwl', delivery('req-honest', [{ data: gzipSync('{}\n'.repeat(3)).toString('base64') }]), { headers: attributes(honest) });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const events = await storedEvents(server.url);
  assert.equal(events.length, 3);
  for (const e of events) assert.deepEqual([e.origin?.['attribute.environment'], e.origin?.['attribute.team']], [honest.environment, honest.team]);
});
