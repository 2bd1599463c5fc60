import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startS3rver, S3RVER_CREDENTIALS } from '../support/s3rver.js';
import { postEvents, startServer } from '../support/server-process.js';
import { blockedDir, tempDir, waitFor } from '../support/temp.js';

const MISSING_DB = 'postgres://postgres@127.0.0.1:5432/auditstream_metrics_no_such_database';

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, the lines that are samples. */
function parseMetrics(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(url: string): Promise<Series[]> {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}

/** The one series of `name` whose labels are exactly `labels`; fails naming what there is otherwise. */
function value(all: Series[], name: string, labels: Record<string, string>): number {
  const found = all.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  const near = all.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels));
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: found ${found.length}; the series are:\n${near.join('\n')}`);
  return found[0]!.value;
}

const http = { component_kind: 'source', component_id: 'http', component_type: 'http' };
const s3 = { component_kind: 'source', component_id: 'archive', component_type: 's3' };
const log = { component_kind: 'sink', component_id: 'log', component_type: 'log' };
const store = { component_kind: 'sink', component_id: 'audit-store', component_type: 'audit-store' };
const router = { component_kind: 'router', component_id: 'router', component_type: 'router' };

test('every source and emitter reports the component-spec metrics, with the right labels and values after known traffic', async (t) => {
  const bucket = await startS3rver(t);
  await bucket.createBucket('logs');
  const object = ['a', 'b', 'c'].map((id) => JSON.stringify({ id: `s3-${id}`, type: 'login', time: '2024-01-01T00:00:00Z' })).join('\n') + '\nnot json at all\n';
  await bucket.put('logs', 'in/1.ndjson', object);

  const dataDir = await tempDir(t);
  const server = await startServer(t, {
    dataDir,
    config: {
      audit: {
        // The audit store cannot connect: its events stay in its buffer, so the buffer gauges have something to show.
        emitters: [{ type: 'log' }, { type: 'audit-store', url: MISSING_DB }],
        emitAtLeastOneOf: ['log'],
      },
      sources: [
        {
          type: 's3',
          name: 'archive',
          bucket: 'logs',
          prefix: 'in/',
          endpoint: bucket.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: S3RVER_CREDENTIALS,
          pollIntervalSec: 0.2,
          keepUnparsed: false,
        },
      ],
    },
  });
  const body = '{"id":"h-1","type":"login","time":"2024-01-01T00:00:00Z"}\n{"bad":1}\n{"id":"h-2","type":"logout","time":"2024-01-01T00:00:01Z"}\n';
  const res = await postEvents(server.url, body, { 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.accepted, 2);

  const m = await waitFor(async () => {
    const all = await scrape(server.url);
    const sent = all.find((s) => s.name === 'auditstream_component_sent_events_total' && s.labels.component_id === 'log');
    const errors = all.filter((s) => s.name === 'auditstream_component_errors_total' && s.labels.component_id === 'audit-store');
    return sent?.value === 5 && errors.length > 0 ? all : null;
  }, 'the log emitter to deliver all five events and the audit store to fail');

  // HTTP ingest, a source like the others.
  assert.equal(value(m, 'auditstream_component_received_bytes_total', { ...http, protocol: 'http' }), Buffer.byteLength(body));
  assert.equal(value(m, 'auditstream_component_received_events_total', http), 2);
  assert.equal(value(m, 'auditstream_component_sent_events_total', http), 2);
  assert.equal(value(m, 'auditstream_component_errors_total', { ...http, error_type: 'invalid_event', stage: 'processing' }), 1);
  const httpBytes = value(m, 'auditstream_component_received_event_bytes_total', http);
  assert.ok(httpBytes > 2 * 50, `two events' JSON: ${httpBytes}`);
  assert.equal(value(m, 'auditstream_component_sent_event_bytes_total', http), httpBytes);

  // The S3 source.
  assert.equal(value(m, 'auditstream_component_received_bytes_total', { ...s3, protocol: 's3' }), Buffer.byteLength(object));
  assert.equal(value(m, 'auditstream_component_received_events_total', s3), 3);
  assert.equal(value(m, 'auditstream_component_sent_events_total', s3), 3);
  assert.equal(value(m, 'auditstream_component_errors_total', { ...s3, error_type: 'parse_failed', stage: 'processing' }), 1);
  const s3Bytes = value(m, 'auditstream_component_received_event_bytes_total', s3);
  assert.equal(value(m, 'auditstream_component_sent_event_bytes_total', s3), s3Bytes);

  // What the sources handed over is what the router and each emitter took in, event for event and byte for byte.
  assert.equal(value(m, 'auditstream_component_received_events_total', router), 5);
  assert.equal(value(m, 'auditstream_component_received_event_bytes_total', router), httpBytes + s3Bytes);
  for (const sink of [log, store]) {
    assert.equal(value(m, 'auditstream_component_received_events_total', sink), 5, sink.component_id);
    assert.equal(value(m, 'auditstream_component_received_event_bytes_total', sink), httpBytes + s3Bytes, sink.component_id);
  }
  assert.equal(value(m, 'auditstream_component_sent_event_bytes_total', log), httpBytes + s3Bytes);
  assert.equal(value(m, 'auditstream_buffer_events', log), 0);
  assert.equal(value(m, 'auditstream_buffer_byte_size', log), 0);

  // The failing emitter: nothing sent, everything buffered, its errors at the sending stage.
  assert.equal(value(m, 'auditstream_component_sent_events_total', store), 0);
  assert.equal(value(m, 'auditstream_buffer_events', store), 5);
  assert.equal(value(m, 'auditstream_buffer_byte_size', store), httpBytes + s3Bytes);
  const storeErrors = m.filter((s) => s.name === 'auditstream_component_errors_total' && s.labels.component_id === 'audit-store');
  assert.ok(storeErrors.length > 0 && storeErrors.every((s) => s.labels.stage === 'sending' && s.labels.component_kind === 'sink'), JSON.stringify(storeErrors));

  // Node's default metrics under their standard names, for stock dashboards.
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    assert.ok(m.some((s) => s.name === name), `${name} is exported`);
  }
  assert.deepEqual(m.filter((s) => /^auditstream_(process|nodejs)_/.test(s.name)).map((s) => s.name), [], 'no prefixed copies');
});

test('a source that has seen nothing yet has its series, at zero', async (t) => {
  const server = await startServer(t, { dataDir: await tempDir(t), config: { audit: { emitters: [{ type: 'log' }] } } });
  const m = await scrape(server.url);
  for (const name of ['received_events', 'received_event_bytes', 'sent_events', 'sent_event_bytes']) {
    assert.equal(value(m, `auditstream_component_${name}_total`, http), 0, name);
    assert.equal(value(m, `auditstream_component_${name}_total`, log), 0, name);
  }
  assert.equal(value(m, 'auditstream_buffer_events', log), 0);
});

test('the http source counts rejected records and refused requests by error_type and stage, as every source does, and logs them throttled', async (t) => {
  const server = await startServer(t, { dataDir: await tempDir(t), config: { audit: { emitters: [{ type: 'log' }] }, server: { limits: { maxEventsPerRequest: 3 } } } });
  const good = (id: string) => JSON.stringify({ id, type: 'login', time: '2024-01-01T00:00:00Z' });
  const posts: { body: string; type: string; status: number; code?: string }[] = [
    // One event acknowledged, two records rejected by index.
    { body: `${good('m-1')}\n{"bad":1}\nnot json\n`, type: 'application/x-ndjson', status: 202 },
    { body: '{"id":', type: 'application/json', status: 400, code: 'BODY_MALFORMED' },
    { body: `[${[1, 2, 3, 4].map((i) => good(`many-${i}`)).join(',')}]`, type: 'application/json', status: 413, code: 'TOO_MANY_EVENTS' },
    // Its one record is rejected too.
    { body: '[{"bad":1}]', type: 'application/json', status: 400, code: 'NO_VALID_EVENTS' },
    { body: '', type: 'application/json', status: 400, code: 'BODY_EMPTY' },
  ];
  for (const p of posts) {
    const res = await postEvents(server.url, p.body, { 'content-type': p.type });
    assert.equal(res.status, p.status, JSON.stringify(res.body));
    assert.equal(res.body.code, p.code, JSON.stringify(res.body));
  }

  const m = await scrape(server.url);
  assert.equal(value(m, 'auditstream_component_received_events_total', http), 1);
  assert.equal(value(m, 'auditstream_component_sent_events_total', http), 1);
  assert.equal(value(m, 'auditstream_component_received_bytes_total', { ...http, protocol: 'http' }), posts.reduce((n, p) => n + Buffer.byteLength(p.body), 0));
  const errors = m.filter((s) => s.name === 'auditstream_component_errors_total' && s.labels.component_id === 'http');
  assert.deepEqual(
    Object.fromEntries(errors.map((s) => [`${s.labels.error_type}/${s.labels.stage}`, s.value])),
    {
      'invalid_event/processing': 3,
      'body_malformed/processing': 1,
      'too_many_events/processing': 1,
      'no_valid_events/processing': 1,
      'body_empty/processing': 1,
    },
  );
  // The label set the kinesis and s3 sources count their errors under (the first test holds s3 to it exactly).
  for (const s of errors) assert.deepEqual(Object.keys(s.labels).sort(), ['component_id', 'component_kind', 'component_type', 'error_type', 'stage'], JSON.stringify(s.labels));

  const lines = server
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((l) => l.source === 'http');
  // Rejected records are logged once a minute at most: the second request's rejection is only counted.
  const rejected = lines.filter((l) => /records rejected/.test(l.msg));
  assert.equal(rejected.length, 1, JSON.stringify(lines));
  assert.equal(rejected[0]!.rejected, 2);
  assert.deepEqual(rejected[0]!.errors.map((e: { index: number }) => e.index), [1, 2]);
  const refused = lines.filter((l) => l.msg === 'request refused');
  assert.deepEqual(refused.map((l) => l.code).sort(), ['BODY_EMPTY', 'BODY_MALFORMED', 'NO_VALID_EVENTS', 'TOO_MANY_EVENTS']);
  for (const l of refused) {
    assert.equal(l.refused, 1);
    assert.equal(typeof l.err, 'string');
  }
});

test('the http source counts a request refused for a full queue at the sending stage: read, not sent', async (t) => {
  const dataDir = await tempDir(t);
  // A regular file where the log's directory should be: the log retries, its small queue fills, ingest answers 429.
  const file = join(blockedDir(dataDir), 'audit.log');
  const server = await startServer(t, {
    dataDir,
    config: { server: { limits: { maxEventBytes: 1000 } }, audit: { emitters: [{ type: 'log', file, queue: { maxBytes: 8000 } }] } },
  });
  let accepted = 0;
  let n = 0;
  const full = await waitFor(async () => {
    const res = await postEvents(server.url, { id: `q${n++}`, type: 'login', time: '2024-01-01T00:00:00Z', message: 'x'.repeat(200) });
    if (res.status === 202) accepted += 1;
    return res.status === 429 ? res : null;
  }, 'a 429 from the full queue');
  assert.equal(full.body.code, 'QUEUE_FULL');

  const m = await scrape(server.url);
  assert.equal(value(m, 'auditstream_component_errors_total', { ...http, error_type: 'queue_full', stage: 'sending' }), 1);
  assert.equal(value(m, 'auditstream_component_received_events_total', http), accepted + 1, 'the refused event was read');
  assert.equal(value(m, 'auditstream_component_sent_events_total', http), accepted, 'and not acknowledged');
});
