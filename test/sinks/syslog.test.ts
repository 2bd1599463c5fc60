import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { ConfigError, FatalError, RetriableError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { syslogSinkDefinition } from '../../src/sinks/syslog/sink.js';
import { startEmitter } from '../support/emitter-harness.js';
import { freePort } from '../support/free-port.js';
import { rsyslogMissing, startRsyslog } from '../support/rsyslog.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

// Every delivery test writes to a real rsyslogd started here, which parses
// each RFC 5424 message and writes its fields to a file.
const skip = rsyslogMissing();

function events(n: number, prefix = 'sys'): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(5, '0')}`,
    time: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, i)).toISOString(),
    type: i % 2 ? 'login_failed' : 'login',
    source: 'blitz',
    outcome: i % 2 ? ('failure' as const) : ('success' as const),
    actor: i === 3 ? 'eve"]\\' : `user${i % 4}`,
    message: `line | with a pipe ${i}`,
    details: { n: i, note: 'ünïcode' },
    raw: JSON.stringify({ n: i }),
  }));
}

function createSink(t: TestContext, config: Record<string, unknown>) {
  const parsed = parseConfig(syslogSinkDefinition.schema, config, 'audit.emitters[0]');
  const sink = syslogSinkDefinition.create(parsed, { configPath: 'audit.emitters[0]', emitterName: 'syslog', dataDir: '/nonexistent', logger: createLogger('fatal'), metrics: new Registry() });
  t.after(() => sink.close());
  return sink;
}

test('RFC 5424 over TCP with octet counting: rsyslog parses every field of every event', { skip }, async (t) => {
  const rsyslog = await startRsyslog(t);
  const sink = createSink(t, { host: '127.0.0.1', port: rsyslog.port, structuredData: true, procId: 'audit1' });
  const batch = events(40);
  const outcomes = await sink.send(batch, AbortSignal.timeout(10_000));
  assert.deepEqual(outcomes.map((o) => o.status), batch.map(() => 'delivered'));
  const got = await waitFor(() => (rsyslog.received().length === batch.length ? rsyslog.received() : null), 'rsyslog wrote all 40');
  got.forEach(([pri, timestamp, host, app, procId, msgId, sd, msg], i) => {
    const e = batch[i]!;
    // authpriv (10) × 8 + info (6) for success, warning (4) for failure.
    assert.equal(pri, e.outcome === 'success' ? '86' : '84');
    assert.equal(timestamp, e.time);
    assert.equal(host, hostname());
    assert.equal(app, 'auditstream');
    assert.equal(procId, 'audit1');
    assert.equal(msgId, e.type);
    assert.match(sd!, new RegExp(`^\\[auditstream@32473 id="${e.id}" source="blitz" outcome="${e.outcome}" actor="`));
    assert.deepEqual(JSON.parse(msg!), e, 'MSG is the event in the json codec');
  });
  assert.ok(got[3]![6]!.includes('actor="eve\\"\\]\\\\"'), `SD-PARAM escapes " ] \\: ${got[3]![6]}`);
});

test('facility, severity map, codec raw and a message over maxMessageBytes (rejected, the rest delivered)', { skip }, async (t) => {
  const rsyslog = await startRsyslog(t);
  const sink = createSink(t, { host: '127.0.0.1', port: rsyslog.port, facility: 'local3', severity: { failure: 'err' }, codec: 'raw', maxMessageBytes: 600 });
  const batch = events(3);
  batch[1] = { ...batch[1]!, raw: 'x'.repeat(1000) };
  const outcomes = await sink.send(batch, AbortSignal.timeout(10_000));
  assert.deepEqual(outcomes.map((o) => o.status), ['delivered', 'rejected', 'delivered']);
  assert.match((outcomes[1] as { reason: string }).reason, /over maxMessageBytes \(600\)/);
  const got = await waitFor(() => (rsyslog.received().length === 2 ? rsyslog.received() : null), 'two messages');
  assert.deepEqual(got.map((f) => [f[0], f[6], f[7]]), [
    [String(19 * 8 + 6), '-', batch[0]!.raw],
    [String(19 * 8 + 6), '-', batch[2]!.raw],
  ]);
  const failed = await sink.send([batch[1]!].map((e) => ({ ...e, raw: 'short' })), AbortSignal.timeout(10_000));
  assert.equal(failed[0]!.status, 'delivered');
  await waitFor(() => rsyslog.received()[2]?.[0] === String(19 * 8 + 3), 'failure mapped to err (3)');
});

test('over TLS (RFC 5425) with the receiver\'s CA: delivered; Test & Add passes; without the CA it is a fatal certificate error', { skip }, async (t) => {
  const rsyslog = await startRsyslog(t, { tls: true });
  const sink = createSink(t, { host: '127.0.0.1', port: rsyslog.port, transport: 'tls', tls: { caFile: rsyslog.certs!.caFile } });
  const steps = await sink.check(AbortSignal.timeout(10_000));
  assert.deepEqual(steps.map((s) => s.ok), [true, true], JSON.stringify(steps));
  assert.match(steps[1]!.step, /connect to 127\.0\.0\.1:\d+ \(TLS\)/);
  const batch = events(10, 'tls');
  assert.deepEqual((await sink.send(batch, AbortSignal.timeout(10_000))).map((o) => o.status), batch.map(() => 'delivered'));
  const got = await waitFor(() => (rsyslog.received().length === 10 ? rsyslog.received() : null), 'ten over TLS');
  assert.deepEqual(got.map((f) => JSON.parse(f[7]!).id), batch.map((e) => e.id));

  const untrusting = createSink(t, { host: '127.0.0.1', port: rsyslog.port, transport: 'tls' });
  await assert.rejects(untrusting.send(events(1), AbortSignal.timeout(10_000)), (err: unknown) => err instanceof FatalError && /self-signed|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/.test(err.message) && /tls\.caFile/.test(err.message));
  const failed = await untrusting.check(AbortSignal.timeout(10_000));
  assert.equal(failed[1]!.ok, false);
  assert.match(failed[1]!.detail, /self-signed|unable to verify/i);
});

test('client certificate required (TLS 1.3 checks it after the handshake): with it delivered; without it nothing counts as delivered', { skip }, async (t) => {
  const rsyslog = await startRsyslog(t, { tls: true, clientAuth: true });
  const certs = rsyslog.certs!;
  const withCert = createSink(t, { host: '127.0.0.1', port: rsyslog.port, transport: 'tls', tls: { caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey } });
  assert.equal((await withCert.send(events(1, 'mtls'), AbortSignal.timeout(10_000)))[0]!.status, 'delivered');
  await waitFor(() => rsyslog.received().length === 1, 'the message from the client with a certificate');

  const without = createSink(t, { host: '127.0.0.1', port: rsyslog.port, transport: 'tls', tls: { caFile: certs.caFile } });
  // The handshake succeeds on the client's side and a write would too; the receiver's refusal comes after.
  await assert.rejects(without.send(events(1, 'nocert'), AbortSignal.timeout(10_000)), (err: unknown) => err instanceof RetriableError && /closed the connection within 300 ms of opening it, before any event was sent/.test(err.message));
  const steps = await without.check(AbortSignal.timeout(10_000));
  assert.equal(steps[1]!.ok, false);
  assert.match(steps[1]!.detail, /refuses this client \(client certificate/);
  assert.equal(rsyslog.received().length, 1);

  // Without the wait, the write succeeds into the refused connection: the event would count as delivered and be lost.
  const eager = createSink(t, { host: '127.0.0.1', port: rsyslog.port, transport: 'tls', tls: { caFile: certs.caFile }, newConnectionWaitMs: 0 });
  assert.equal((await eager.send(events(1, 'eager'), AbortSignal.timeout(10_000)))[0]!.status, 'delivered');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(rsyslog.received().length, 1, 'rsyslog never logged it');
});

test('receiver down: a retriable connection error, Test & Add names the refused connection', async (t) => {
  const port = await freePort();
  const sink = createSink(t, { host: '127.0.0.1', port });
  await assert.rejects(sink.send(events(1), AbortSignal.timeout(10_000)), (err: unknown) => err instanceof RetriableError && /ECONNREFUSED/.test(err.message));
  const steps = await sink.check(AbortSignal.timeout(10_000));
  assert.deepEqual(steps.map((s) => s.ok), [true, false]);
  assert.match(steps[1]!.detail, /connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
});

test('a receiver that closes the connection between batches: the next batch goes out on a new connection', async (t) => {
  // A plain TCP server stands in for a receiver restarting: it reads, and hangs up after each batch.
  const received: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (d) => {
      received.push(d.toString());
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const sink = createSink(t, { host: '127.0.0.1', port: (server.address() as { port: number }).port });
  for (let i = 0; i < 3; i++) {
    await sink.send(events(2, `c${i}`), AbortSignal.timeout(10_000));
    await waitFor(() => received.length === i + 1, `batch ${i} received`);
    // Let the FIN arrive, as it would between batches.
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(received.join('').match(/<\d+>1 /g)?.length, 6);
});

test('through the emitter: rsyslog stopped, events wait in the queue, all arrive when it is back', { skip }, async (t) => {
  const rsyslog = await startRsyslog(t);
  const sink = createSink(t, { host: '127.0.0.1', port: rsyslog.port });
  const { emitter } = await startEmitter(t, sink, { name: 'syslog', type: 'syslog', retry: { initialBackoffMs: 50, maxBackoffMs: 300 } });
  const first = events(100, 'before');
  await Promise.all((await emitter.enqueue(first, true)).deliveries);
  await waitFor(() => rsyslog.received().length === 100, 'first 100 in rsyslog');

  await rsyslog.stop();
  const second = events(200, 'during');
  const { deliveries } = await emitter.enqueue(second, true);
  await waitFor(() => emitter.status().lastError !== null && emitter.status().depth === 200, 'events wait while rsyslog is down');
  await rsyslog.start();
  const reports = await Promise.all(deliveries);
  assert.ok(reports.every((r) => r.delivered));
  const ids = await waitFor(() => {
    const got = new Set(rsyslog.received().map((f) => (JSON.parse(f[7]!) as AuditEvent).id));
    return [...first, ...second].every((e) => got.has(e.id)) ? got : null;
  }, 'every event in rsyslog after the restart');
  assert.ok(ids.size >= 300);
});

test('through auditstream serve: posted events reach rsyslog', { skip }, async (t) => {
  const rsyslog = await startRsyslog(t);
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { audit: { emitters: [{ type: 'syslog', host: '127.0.0.1', port: rsyslog.port, appName: 'idp' }] } } });
  const res = await postEvents(server.url, Array.from({ length: 20 }, (_, i) => ({ id: `srv-${i}`, type: 'login', time: '2024-01-01T00:00:00Z' })));
  assert.equal(res.status, 202);
  const got = await waitFor(() => (rsyslog.received().length === 20 ? rsyslog.received() : null), 'all 20 from the server');
  assert.deepEqual(got.map((f) => [f[3], f[5], (JSON.parse(f[7]!) as AuditEvent).id]).sort(), Array.from({ length: 20 }, (_, i) => ['idp', 'login', `srv-${i}`]).sort());
});

test('config: a tls block without transport tls, an unknown facility and an unreadable caFile name their keys', async () => {
  const bad = syslogSinkDefinition.schema.safeParse({ host: 'h', tls: { caFile: '/x' }, facility: 'local9' });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.')).sort();
  assert.deepEqual(paths, ['facility']);
  const noTls = syslogSinkDefinition.schema.safeParse({ host: 'h', tls: { caFile: '/x' } });
  assert.deepEqual(noTls.error!.issues.map((i) => [i.path.join('.'), i.message]), [['tls', 'a tls block needs transport: tls']]);
  const config = parseConfig(syslogSinkDefinition.schema, { host: 'h', transport: 'tls', tls: { caFile: '/nonexistent/ca.pem' } }, 'audit.emitters[0]');
  assert.deepEqual(syslogSinkDefinition.validate!(config, { emitterName: 'syslog', dataDir: '/tmp' }), [{ path: ['tls', 'caFile'], message: 'cannot read /nonexistent/ca.pem: ENOENT' }]);
  assert.throws(() => syslogSinkDefinition.create(config, { configPath: 'audit.emitters[2]', emitterName: 's', dataDir: '/tmp', logger: createLogger('fatal'), metrics: new Registry() }), (err: unknown) => err instanceof ConfigError && err.path === 'audit.emitters[2].tls.caFile');
});
