import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ConfigErrors } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startEmitter } from '../support/emitter-harness.js';
import { EMULATOR_CREDENTIALS, auditEvents, readAllRecords, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';
import { startHttpReceiver, type Answer, type ReceivedRequest } from '../support/http-receiver.js';
import { emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { randomName, tempDir, waitFor } from '../support/temp.js';

// More than one batch in flight to one destination (batch.maxInFlight), against a
// real server process and a real HTTP receiver on loopback.

const events = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${String(i).padStart(3, '0')}`, type: 'login', time: '2024-01-01T00:00:00Z' }));

/** The ids in one request of the http emitter (a JSON array of events). */
const idsOf = (req: ReceivedRequest) => (JSON.parse(req.text) as { id: string }[]).map((e) => e.id);

function hookConfig(url: string, batch: object = {}) {
  return {
    audit: {
      emitters: [{ type: 'http', name: 'hook', url: `${url}/hook`, batch: { maxEvents: 10, lingerMs: 0, ...batch }, retry: { initialBackoffMs: 50, maxBackoffMs: 200 } }],
    },
  };
}

/** A receiver whose answers wait until `release()`; counts the requests open at once. */
async function heldReceiver(t: TestContext, answer: (req: ReceivedRequest) => Answer = () => ({ status: 200, body: {} })) {
  let open = 0;
  let maxOpen = 0;
  let holding = true;
  let release!: () => void;
  let released = new Promise<void>((r) => (release = r));
  const receiver = await startHttpReceiver(t, async (req) => {
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    try {
      if (holding) await released;
      return answer(req);
    } finally {
      open -= 1;
    }
  });
  return {
    receiver,
    get open() {
      return open;
    },
    get maxOpen() {
      return maxOpen;
    },
    release() {
      holding = false;
      release();
    },
    hold() {
      holding = true;
      released = new Promise<void>((r) => (release = r));
    },
  };
}

test('with the http default of 2 in flight, a slow destination has two requests open at once, never more; every event arrives once', async (t) => {
  const dataDir = await tempDir(t);
  const held = await heldReceiver(t);
  const server = await startServer(t, { dataDir, config: hookConfig(held.receiver.url) });
  const sent = events('a', 40);
  assert.equal((await postEvents(server.url, sent)).status, 202);
  await waitFor(() => held.open === 2, 'two requests open at once');
  // Given the time to open a third, it does not.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(held.open, 2);
  const status = (await emitterStatus(server.url)).hook!;
  assert.deepEqual({ inFlight: status.inFlight, maxInFlight: status.maxInFlight }, { inFlight: 2, maxInFlight: 2 }, 'GET /v1/emitters shows the window');
  held.release();
  await waitFor(async () => (await emitterStatus(server.url)).hook!.depth === 0, 'delivered');
  assert.equal(held.maxOpen, 2);
  const received = held.receiver.requests.flatMap(idsOf);
  assert.deepEqual([...received].sort(), sent.map((e) => e.id));
});

test('batch.maxInFlight: 1 keeps one request open at a time', async (t) => {
  const dataDir = await tempDir(t);
  const held = await heldReceiver(t);
  const server = await startServer(t, { dataDir, config: hookConfig(held.receiver.url, { maxInFlight: 1 }) });
  assert.equal((await postEvents(server.url, events('b', 30))).status, 202);
  await waitFor(() => held.open === 1, 'one request open');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(held.open, 1);
  held.release();
  await waitFor(async () => (await emitterStatus(server.url)).hook!.depth === 0, 'delivered');
  assert.equal(held.maxOpen, 1);
});

test('the first batch fails while the second is delivered: the first stays queued, nothing newer goes out meanwhile, all arrive once it recovers', async (t) => {
  const dataDir = await tempDir(t);
  let failing = true;
  const receiver = await startHttpReceiver(t, async (req) => {
    if (idsOf(req).includes('c-000')) {
      // The first batch: answered after the second, with an error while `failing`.
      await new Promise((r) => setTimeout(r, 150));
      return failing ? { status: 503, body: { error: 'try later' } } : { status: 200, body: {} };
    }
    return { status: 200, body: {} };
  });
  const server = await startServer(t, { dataDir, config: hookConfig(receiver.url, { maxInFlight: 2 }) });
  const sent = events('c', 40);
  assert.equal((await postEvents(server.url, sent)).status, 202);
  // The second batch was delivered; the failing first holds back the rest (its resend must come before them).
  const status = await waitFor(async () => {
    const s = (await emitterStatus(server.url)).hook!;
    return s.lastError && receiver.requests.filter((r) => idsOf(r).includes('c-000')).length >= 3 ? s : null;
  }, 'the first batch retried a few times');
  assert.equal(status.depth, 30, 'the first batch and the two never sent stay queued');
  const delivered = new Set(receiver.requests.filter((r) => !idsOf(r).includes('c-000')).flatMap(idsOf));
  assert.deepEqual([...delivered].sort(), sent.slice(10, 20).map((e) => e.id), 'only the second batch went out besides the first');

  failing = false;
  await waitFor(async () => (await emitterStatus(server.url)).hook!.depth === 0, 'delivered after recovery');
  const ok = new Set(receiver.requests.flatMap(idsOf));
  assert.deepEqual([...ok].sort(), sent.map((e) => e.id));
  // Each event of the second, third and fourth batch went out once; only the first batch was sent again.
  const counts = new Map<string, number>();
  for (const id of receiver.requests.flatMap(idsOf)) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const e of sent.slice(10)) assert.equal(counts.get(e.id), 1, e.id);
});

test('SIGKILL with batches in flight: after a restart every acknowledged event is delivered', async (t) => {
  const dataDir = await tempDir(t);
  const held = await heldReceiver(t);
  const first = await startServer(t, { dataDir, config: hookConfig(held.receiver.url, { maxInFlight: 4 }) });
  const sent = events('d', 60);
  assert.equal((await postEvents(first.url, sent)).status, 202);
  await waitFor(() => held.open === 4, 'four requests open at once');
  first.child.kill('SIGKILL');
  await first.exited;

  held.release();
  const second = await startServer(t, { dataDir, config: hookConfig(held.receiver.url, { maxInFlight: 4 }) });
  await waitFor(async () => (await emitterStatus(second.url)).hook!.depth === 0, 'delivered after the restart');
  const received = new Set(held.receiver.requests.flatMap(idsOf));
  assert.deepEqual([...received].sort(), sent.map((e) => e.id));
});

test('SIGKILL after a later batch was delivered while an earlier one failed: the earlier is delivered after the restart, the later not again', async (t) => {
  const dataDir = await tempDir(t);
  let failing = true;
  const receiver = await startHttpReceiver(t, (req) => (failing && idsOf(req).includes('e-000') ? { status: 503, body: {} } : { status: 200, body: {} }));
  const first = await startServer(t, { dataDir, config: hookConfig(receiver.url, { maxInFlight: 2 }) });
  const sent = events('e', 20);
  assert.equal((await postEvents(first.url, sent)).status, 202);
  await waitFor(async () => {
    const s = (await emitterStatus(first.url)).hook!;
    return s.depth === 10 && s.lastError ? s : null;
  }, 'the second batch delivered, the first failing');
  // The journal saves positions a turn after the ack: give it a moment before the kill.
  await new Promise((r) => setTimeout(r, 200));
  first.child.kill('SIGKILL');
  await first.exited;

  failing = false;
  const before = receiver.requests.length;
  const second = await startServer(t, { dataDir, config: hookConfig(receiver.url, { maxInFlight: 2 }) });
  await waitFor(async () => (await emitterStatus(second.url)).hook!.depth === 0, 'delivered after the restart');
  const after = receiver.requests.slice(before).flatMap(idsOf);
  assert.deepEqual([...after].sort(), sent.slice(0, 10).map((e) => e.id), 'only the failed batch is sent after the restart');
});

test('SIGTERM with batches in flight waits for all of them: every event is delivered before the process exits', async (t) => {
  const dataDir = await tempDir(t);
  const held = await heldReceiver(t);
  const server = await startServer(t, { dataDir, config: { server: { shutdownTimeoutSec: 20 }, ...hookConfig(held.receiver.url, { maxInFlight: 3 }) } });
  const sent = events('f', 50);
  assert.equal((await postEvents(server.url, sent)).status, 202);
  await waitFor(() => held.open === 3, 'three requests open at once');
  server.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(server.child.exitCode, null, 'still draining while its requests are open');
  held.release();
  const { code } = await server.exited;
  assert.equal(code, 0, `clean exit; logs:\n${server.stderr()}`);
  const received = new Set(held.receiver.requests.flatMap(idsOf));
  assert.deepEqual([...received].sort(), sent.map((e) => e.id));
});

test('SIGTERM with a batch in flight that outlasts server.shutdownTimeoutSec: the server waits for it that long, no longer, exits cleanly, and sends the batch again after a restart', async (t) => {
  const dataDir = await tempDir(t);
  const held = await heldReceiver(t);
  const config = { server: { shutdownTimeoutSec: 2 }, ...hookConfig(held.receiver.url, { maxInFlight: 1 }) };
  const first = await startServer(t, { dataDir, config });
  const sent = events('g', 10);
  assert.equal((await postEvents(first.url, sent)).status, 202);
  await waitFor(() => held.open === 1, 'the batch in flight');
  const stopping = Date.now();
  first.child.kill('SIGTERM');
  const { code } = await first.exited;
  const tookMs = Date.now() - stopping;
  // Past the timeout by 5 s a hard stop exits 1: 0 says the timeout ended the wait.
  assert.equal(code, 0, `clean exit; logs:\n${first.stderr()}`);
  assert.ok(tookMs >= 1_900, `waited for the batch in flight until the timeout (stopped after ${tookMs} ms)`);

  held.release();
  const before = held.receiver.requests.length;
  const second = await startServer(t, { dataDir, config });
  await waitFor(async () => (await emitterStatus(second.url)).hook!.depth === 0, 'delivered after the restart');
  assert.deepEqual(held.receiver.requests.slice(before).flatMap(idsOf).sort(), sent.map((e) => e.id), 'the unanswered batch is sent again, once');
});

test('batch.maxInFlight is an integer 1–16; keyed Kinesis and Kafka refuse more than 1, naming the key path', () => {
  const problems = (emitter: object) => {
    try {
      Pipeline.validate({ audit: { emitters: [emitter] } });
      return [];
    } catch (err) {
      return err instanceof ConfigErrors ? err.errors.map((e) => e.message) : [(err as Error).message];
    }
  };
  const hook = { type: 'http', url: 'http://127.0.0.1:9/hook' };
  for (const n of [1, 2, 16]) assert.deepEqual(problems({ ...hook, batch: { maxInFlight: n } }), [], String(n));
  for (const n of [0, 17, 1.5, '2']) {
    const found = problems({ ...hook, batch: { maxInFlight: n } });
    assert.equal(found.length, 1, `${n}: ${found.join('; ')}`);
    assert.match(found[0]!, /^audit\.emitters\[0\]\.batch\.maxInFlight: /, String(n));
  }
  const kinesis = { type: 'kinesis', streamName: 'audit', region: 'us-east-1' };
  assert.deepEqual(problems({ ...kinesis, batch: { maxInFlight: 4 } }), [], 'random partition keys: no order to keep');
  assert.deepEqual(problems({ ...kinesis, partitionKey: 'actor', batch: { maxInFlight: 1 } }), []);
  const keyed = problems({ ...kinesis, partitionKey: 'actor', batch: { maxInFlight: 2 } });
  assert.equal(keyed.length, 1, keyed.join('; '));
  assert.match(keyed[0]!, /^audit\.emitters\[0\]\.batch\.maxInFlight: must be 1 with partitionKey: actor: events of one key are delivered in queue order/);
  const kafka = problems({ type: 'kafka', bootstrapServers: ['127.0.0.1:9092'], topic: 'audit', key: 'actor', batch: { maxInFlight: 3 } });
  assert.equal(kafka.length, 1, kafka.join('; '));
  assert.match(kafka[0]!, /^audit\.emitters\[0\]\.batch\.maxInFlight: must be 1 with key: actor/);
});

test('keyed Kinesis keeps one batch in flight whatever the emitter is given, and each key in order; random keys use the default of 2', async (t) => {
  const emu = await startKinesalite(t);
  for (const partitionKey of ['actor', 'random'] as const) {
    const stream = randomName(`inflight-${partitionKey}`);
    await emu.createStream(stream, 2);
    const config = kinesisSinkDefinition.schema.parse({ streamName: stream, region: 'us-east-1', endpoint: emu.endpoint, credentials: EMULATOR_CREDENTIALS, partitionKey });
    const kinesis = kinesisSinkDefinition.create(config, testSinkContext(`inflight-${partitionKey}`));
    t.after(() => kinesis.close());
    let open = 0;
    let maxOpen = 0;
    // The real sink, made slow enough that two sends would overlap if the emitter allowed them.
    const sink: Sink = {
      batch: { ...kinesis.batch, maxEvents: 20, lingerMs: 0 },
      ...(kinesis.partitionKeyOf ? { partitionKeyOf: kinesis.partitionKeyOf } : {}),
      check: (signal) => kinesis.check(signal),
      close: async () => undefined,
      async send(batch, signal) {
        open += 1;
        maxOpen = Math.max(maxOpen, open);
        try {
          await new Promise((r) => setTimeout(r, 50));
          return await kinesis.send(batch, signal);
        } finally {
          open -= 1;
        }
      },
    };
    const { emitter } = await startEmitter(t, sink, { name: `k-${partitionKey}`, type: 'kinesis', ...(partitionKey === 'actor' ? { batch: { maxInFlight: 4 } } : {}) });
    const sent = auditEvents(200, 5);
    const { deliveries } = await emitter.enqueue(sent, true);
    assert.ok((await Promise.all(deliveries)).every((r) => r.delivered));
    assert.equal(maxOpen, partitionKey === 'actor' ? 1 : 2, `${partitionKey}: batches in flight at once`);
    const records = await readAllRecords(emu.client, stream);
    assert.deepEqual(records.map((r) => (JSON.parse(r.data.toString()) as AuditEvent).id).sort(), sent.map((e) => e.id));
    if (partitionKey === 'actor') {
      // Within a shard records are in arrival order: each actor's events in queue order.
      const byActor = new Map<string, string[]>();
      for (const r of records) byActor.set(r.partitionKey, [...(byActor.get(r.partitionKey) ?? []), (JSON.parse(r.data.toString()) as AuditEvent).id]);
      for (const [actor, got] of byActor) assert.deepEqual(got, [...got].sort(), `${actor} in order`);
    }
  }
});
