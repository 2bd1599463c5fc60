import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { ConfigError, FatalError, RetriableError } from '../../src/core/errors.js';
import { newEventId } from '../../src/core/ids.js';
import { createLogger } from '../../src/core/logger.js';
import { saslCredentials } from '../../src/sinks/kafka/config.js';
import { kafkaSinkDefinition } from '../../src/sinks/kafka/sink.js';
import { protocolRange } from '../../src/sinks/kafka/tls.js';
import { startKafkaMock, type KafkaMock } from '../support/kafka-mock.js';
import { tempDir } from '../support/temp.js';

function events(n: number): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: newEventId(),
    time: new Date(Date.UTC(2024, 4, 1) + i).toISOString(),
    type: i % 2 ? 'login' : 'logout',
    source: 'blitz',
    outcome: 'success' as const,
    actor: `user${i % 5}`,
    details: { subject_id: `BIP-${i % 3}` },
    raw: JSON.stringify({ type: 'login', n: i }),
  }));
}

async function createSink(t: TestContext, kafka: Pick<KafkaMock, 'bootstrapServers'>, overrides: Record<string, unknown> = {}) {
  const config = parseConfig(kafkaSinkDefinition.schema, { bootstrapServers: kafka.bootstrapServers, topic: 'blitz_audit', ...overrides }, 'audit.emitters[0]');
  const sink = kafkaSinkDefinition.create(config, { configPath: 'audit.emitters[0]', emitterName: 'kafka', dataDir: await tempDir(t), logger: createLogger('fatal'), metrics: new Registry() });
  t.after(() => sink.close());
  return sink;
}

test('every event arrives as one JSON message, read back by kcat event by event', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 3 } });
  const sink = await createSink(t, kafka, { tuning: { 'client.id': 'BlitzKafka', 'compression.type': 'gzip' } });
  const batch = events(120);

  const outcomes = await sink.send(batch, AbortSignal.timeout(30_000));

  assert.deepEqual(outcomes, batch.map(() => ({ status: 'delivered' })));
  const messages = await kafka.readAll('blitz_audit');
  const got = messages.map((m) => JSON.parse(m.payload!) as AuditEvent).sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(got, [...batch].sort((a, b) => a.id.localeCompare(b.id)));
  assert.ok(messages.every((m) => m.key === null), 'no key configured: no message key');
});

test('the message key comes from the configured event field and keeps a key on one partition', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 4 } });
  const sink = await createSink(t, kafka, { key: 'details.subject_id', codec: 'raw' });
  const batch = events(60);

  await sink.send(batch, AbortSignal.timeout(30_000));

  const messages = await kafka.readAll('blitz_audit');
  assert.deepEqual(messages.map((m) => m.payload).sort(), batch.map((e) => e.raw).sort());
  const partitionsByKey = new Map<string, Set<number>>();
  for (const m of messages) partitionsByKey.set(m.key!, (partitionsByKey.get(m.key!) ?? new Set()).add(m.partition));
  assert.deepEqual([...partitionsByKey.keys()].sort(), ['BIP-0', 'BIP-1', 'BIP-2']);
  for (const [key, parts] of partitionsByKey) assert.equal(parts.size, 1, `key ${key} spread over partitions ${[...parts]}`);
  assert.equal(sink.partitionKeyOf?.(batch[4]!), 'BIP-1');
});

test('a broker that is down makes send throw RetriableError; once it is back the same batch goes through', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 1 } });
  const sink = await createSink(t, kafka);
  await sink.send(events(1), AbortSignal.timeout(30_000));
  const batch = events(10);

  await kafka.brokerDown(1);
  await assert.rejects(sink.send(batch, AbortSignal.timeout(30_000)), (err) => err instanceof RetriableError);
  await kafka.brokerUp(1);
  await sink.send(batch, AbortSignal.timeout(30_000));

  const ids = new Set((await kafka.readAll('blitz_audit')).map((m) => JSON.parse(m.payload!).id));
  for (const e of batch) assert.ok(ids.has(e.id), `event ${e.id} missing after the broker came back`);
});

// The mock cluster has no per-topic max.message.bytes to set, so the broker's refusal is injected:
// failProduce answers the next Produce requests, in order, with MESSAGE_TOO_LARGE (10),
// RECORD_LIST_TOO_LARGE (18) or 0 (handled normally) — the same wire answer a real broker gives.
test('a batch refused as too large is sent message by message: only the too-large one is rejected, the rest delivered', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 1 } });
  const sink = await createSink(t, kafka);
  const batch = events(5);
  batch[2] = { ...batch[2]!, details: { filler: 'x'.repeat(20_000) } };
  const size = Buffer.byteLength(JSON.stringify(batch[2]));

  // The whole batch, then each message alone: the third is the one over the limit.
  await kafka.failProduce(10, 0, 0, 10, 0, 0);
  const outcomes = await sink.send(batch, AbortSignal.timeout(30_000));

  assert.deepEqual(outcomes.map((o) => o.status), ['delivered', 'delivered', 'rejected', 'delivered', 'delivered']);
  const reason = (outcomes[2] as { reason: string }).reason;
  assert.match(reason, new RegExp(`message of ${size} bytes .* MESSAGE_TOO_LARGE: over the topic's max\\.message\\.bytes`));
  const stored = (await kafka.readAll('blitz_audit')).map((m) => JSON.parse(m.payload!).id);
  assert.deepEqual(stored, [0, 1, 3, 4].map((i) => batch[i]!.id));
});

test('a single message refused as too large is rejected, not a fatal error that would block the emitter', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 1 } });
  const sink = await createSink(t, kafka);

  await kafka.failProduce(18);
  const [outcome] = await sink.send(events(1), AbortSignal.timeout(30_000));
  assert.equal(outcome!.status, 'rejected');
  assert.match((outcome as { reason: string }).reason, /RECORD_LIST_TOO_LARGE: over the topic's segment\.bytes/);

  // Other fatal answers still fail the whole call: the events stay queued until someone fixes the topic.
  await kafka.failProduce(29);
  await assert.rejects(sink.send(events(2), AbortSignal.timeout(30_000)), (err) => err instanceof FatalError && /TOPIC_AUTHORIZATION_FAILED/.test(err.message));
  const next = events(3);
  assert.deepEqual(await sink.send(next, AbortSignal.timeout(30_000)), next.map(() => ({ status: 'delivered' })));
});

test('check connects, finds the topic and its leaders, and names a missing topic', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 2, other: 1 } });
  const sink = await createSink(t, kafka);
  const steps = await sink.check(AbortSignal.timeout(30_000));
  assert.deepEqual(steps.map((s) => s.ok), [true, true, true], JSON.stringify(steps));

  const missing = await createSink(t, kafka, { topic: 'blitz_adit' });
  const failed = await missing.check(AbortSignal.timeout(30_000));
  assert.equal(failed.at(-1)!.ok, false);
  assert.match(failed.at(-1)!.detail, /topic "blitz_adit" does not exist \(topics: .*blitz_audit/);
});

test('an unreachable cluster is a failed connect step in check and a RetriableError in send', async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 1 } });
  const { bootstrapServers } = kafka;
  await kafka.stop();
  const sink = await createSink(t, { bootstrapServers }, { tuning: { retries: 0 } });
  const [step] = await sink.check(AbortSignal.timeout(30_000));
  assert.equal(step!.ok, false);
  assert.match(step!.detail, /ECONNREFUSED|Connection error/);
  await assert.rejects(sink.send(events(1), AbortSignal.timeout(30_000)), (err) => err instanceof RetriableError && !(err instanceof FatalError));
});

test('SASL settings reach the wire: the mock broker, which offers no SASL, fails check and send fatally', async (t) => {
  // The librdkafka mock cluster implements neither SaslHandshake nor SaslAuthenticate, so a real SASL
  // exchange cannot be tested here; the JAAS reading is tested below at the option level.
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 1 } });
  const sink = await createSink(t, kafka, {
    securityProtocol: 'SASL_PLAINTEXT',
    sasl: { mechanism: 'PLAIN', jaasConfig: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${pswd}";', secureParams: { pswd: 'x' } },
  });
  const [step] = await sink.check(AbortSignal.timeout(30_000));
  assert.equal(step!.ok, false);
  assert.match(step!.detail, /does not support/);
  await assert.rejects(sink.send(events(1), AbortSignal.timeout(30_000)), (err) => err instanceof FatalError);
});

test('Blitz block shapes paste in: jaasConfig with ${pswd} from secureParams, SSL block with one comma-joined protocol string', () => {
  const config = parseConfig(
    kafkaSinkDefinition.schema,
    {
      bootstrapServers: ['infra-kfk01:9443'],
      topic: 'blitz_audit',
      securityProtocol: 'SASL_PLAINTEXT',
      sasl: {
        jaasConfig: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${pswd}";',
        mechanism: 'PLAIN',
        secureParams: { pswd: 's3cr"et' },
      },
      tuning: { 'client.id': 'BlitzKafka' },
    },
    'audit.emitters[3]',
  );
  assert.equal(config.sasl?.mechanism, 'PLAIN');
  assert.deepEqual(saslCredentials(config.sasl!), { username: 'alice', password: 's3cr"et' });

  const ssl = parseConfig(
    kafkaSinkDefinition.schema,
    {
      bootstrapServers: ['infra-kfk01:9443'],
      topic: 'blitz_audit',
      securityProtocol: 'SSL',
      ssl: {
        enabledProtocols: ['TLSv1.2,TLSv1.3'],
        keyStore: { password: 'CHANGE-ME', path: '/etc/blitz-config/bip-d1app01-1.jks', type: 'JKS' },
        trustedStore: { password: 'CHANGE-ME', path: '/etc/blitz-config/ca.jks', type: 'JKS' },
        keyPassword: 'CHANGE-ME',
      },
    },
    'audit.emitters[3]',
  );
  assert.deepEqual(protocolRange(ssl.ssl!.enabledProtocols!), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });

  const unknown = () =>
    parseConfig(
      kafkaSinkDefinition.schema,
      { bootstrapServers: ['k:9092'], topic: 't', sasl: { jaasConfig: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${pwd}";', secureParams: { pswd: 'x' } } },
      'audit.emitters[3]',
    );
  assert.throws(unknown, (err) => err instanceof ConfigError && err.path === 'audit.emitters[3].sasl.jaasConfig' && /\$\{pwd\} is not defined in secureParams/.test(err.problem));
});

test('tuning takes Kafka producer property names; an unsupported one is a config error naming it', () => {
  const parse = (tuning: Record<string, unknown>) => parseConfig(kafkaSinkDefinition.schema, { bootstrapServers: ['k:9092'], topic: 't', tuning }, 'audit.emitters[2]');
  assert.doesNotThrow(() => parse({ 'client.id': 'BlitzKafka', acks: 'all', 'linger.ms': 5, 'batch.size': '16384', 'request.timeout.ms': 30000, 'enable.idempotence': 'true', 'max.in.flight.requests.per.connection': 1 }));
  assert.throws(() => parse({ 'foo.bar': 1 }), (err) => err instanceof ConfigError && err.path === 'audit.emitters[2].tuning["foo.bar"]' && /unsupported producer property/.test(err.problem));
  assert.throws(() => parse({ acks: 0 }), (err) => err instanceof ConfigError && err.path === 'audit.emitters[2].tuning.acks' && /acks=0 is not allowed/.test(err.problem));
  assert.throws(() => parse({ 'compression.type': 'zstd' }), (err) => err instanceof ConfigError && /zstd/.test(err.problem));
});

test('linger.ms and batch.size become the batch limits the emitter cuts batches with', async (t) => {
  const sink = await createSink(t, { bootstrapServers: ['127.0.0.1:1'] }, { tuning: { 'linger.ms': 250, 'batch.size': 65536 } });
  assert.equal(sink.batch.lingerMs, 250);
  assert.equal(sink.batch.maxBytes, 65536);
});
