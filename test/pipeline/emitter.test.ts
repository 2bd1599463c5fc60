import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { test, type TestContext } from 'node:test';
import type { AuditEvent } from '../../src/core/event.js';
import { eventJson } from '../../src/core/component-metrics.js';
import { FatalError, RetriableError } from '../../src/core/errors.js';
import type { DeliveryOutcome, Sink } from '../../src/sinks/sink.js';
import { openJournal, startEmitter } from '../support/emitter-harness.js';
import { tempDir, waitFor } from '../support/temp.js';

/*
 * Test double: a scripted sink. The real sinks are tested against real
 * destinations elsewhere; here the point is the emitter's own logic (which
 * events are resent, dead-lettered, kept), which needs failures on demand.
 */
class ScriptedSink implements Sink {
  readonly batch = { maxEvents: 10, maxBytes: 1e6, lingerMs: 0 };
  readonly received: string[][] = [];
  readonly delivered: string[] = [];
  script: ((events: readonly AuditEvent[], call: number) => DeliveryOutcome[] | Error)[] = [];
  async send(events: readonly AuditEvent[]): Promise<DeliveryOutcome[]> {
    const call = this.received.length;
    this.received.push(events.map((e) => e.id));
    const step = this.script[call] ?? ((evs) => evs.map(() => ({ status: 'delivered' as const })));
    const out = step(events, call);
    if (out instanceof Error) throw out;
    out.forEach((o, i) => o.status === 'delivered' && this.delivered.push(events[i]!.id));
    return out;
  }
  async check() {
    return [];
  }
  async close() {}
}

const event = (id: string): AuditEvent => ({ id, time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' });

function setup(t: TestContext, sink: ScriptedSink, deadLetterFile?: string) {
  return startEmitter(t, sink, { retry: { initialBackoffMs: 5, maxBackoffMs: 40 }, ...(deadLetterFile ? { deadLetterFile } : {}) });
}

test('a partial failure resends only the failed events; delivered ones are never sent twice', async (t) => {
  const sink = new ScriptedSink();
  sink.script[0] = (evs) => evs.map((_, i) => (i % 2 === 0 ? { status: 'delivered' } : { status: 'retry', reason: 'ProvisionedThroughputExceededException' }));
  const { emitter, queue } = await setup(t, sink);
  await emitter.enqueue(['a', 'b', 'c', 'd'].map(event));
  await waitFor(() => queue.depth === 0, 'queue drained');
  assert.deepEqual(sink.received[0], ['a', 'b', 'c', 'd']);
  assert.deepEqual(sink.received[1], ['b', 'd']);
  assert.deepEqual([...sink.delivered].sort(), ['a', 'b', 'c', 'd']);
});

test('a rejected event goes to the dead-letter file with its reason; the others are delivered', async (t) => {
  const sink = new ScriptedSink();
  sink.script[0] = (evs) => evs.map((e) => (e.id === 'big' ? { status: 'rejected', reason: 'record is 1100000 bytes, over the 1 MiB limit' } : { status: 'delivered' }));
  const { emitter, queue, deadLetter } = await setup(t, sink);
  const { deliveries } = await emitter.enqueue(['a', 'big', 'c'].map(event), true);
  const reports = await Promise.all(deliveries);
  assert.deepEqual(reports.map((r) => r.delivered), [true, false, true]);
  assert.equal(queue.depth, 0);
  const lines = readFileSync(deadLetter.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].eventId, 'big');
  assert.match(lines[0].reason, /over the 1 MiB limit/);
  assert.equal(lines[0].event.id, 'big');
});

test('a retriable whole-call error retries the same events; a fatal one keeps them queued in state failing', async (t) => {
  const sink = new ScriptedSink();
  let seenDuringRetry: { state: string; depth: number; lastError: string } | undefined;
  sink.script[0] = () => new RetriableError('connection refused');
  sink.script[1] = () => new FatalError('ResourceNotFoundException: stream audit not found');
  // The send after the fatal error sees what a user would see while the destination is broken.
  sink.script[2] = (evs) => {
    const s = emitter.status();
    seenDuringRetry = { state: s.state, depth: s.depth, lastError: String(s.lastError?.message) };
    return evs.map(() => ({ status: 'delivered' as const }));
  };
  const { emitter, queue } = await setup(t, sink);
  await emitter.enqueue(['a', 'b'].map(event));
  await waitFor(() => queue.depth === 0, 'delivered after the destination came back');
  assert.deepEqual(seenDuringRetry, { state: 'failing', depth: 2, lastError: 'ResourceNotFoundException: stream audit not found' }, 'nothing is dropped while the destination is unusable');
  assert.deepEqual(sink.received.slice(0, 3), [['a', 'b'], ['a', 'b'], ['a', 'b']]);
});

test('the journal keeps no event object for an emitter whose sink takes stored bytes, and keeps it for one taking events', async (t) => {
  const journal = await openJournal(t);
  const storedSink: Sink = {
    batch: { maxEvents: 10, maxBytes: 1e6, lingerMs: 0 },
    send: () => Promise.reject(new Error('never called: the sink takes stored bytes')),
    sendStored: async (batch) => batch.map(() => ({ status: 'delivered' as const })),
    check: async () => [],
    close: async () => {},
  };
  const bytes = await startEmitter(t, storedSink, { name: 'bytes', journal });
  const objects = await startEmitter(t, new ScriptedSink(), { name: 'objects', journal });
  bytes.emitter.pause();
  objects.emitter.pause();
  await bytes.emitter.enqueue([event('a')]);
  await objects.emitter.enqueue([event('b')]);
  assert.equal((await bytes.queue.read(10, 1e6))[0]!.event, undefined);
  assert.deepEqual((await objects.queue.read(10, 1e6))[0]!.event, event('b'));
});

test('a batch waiting to be resent holds copies of its own bytes, not the journal blocks it was read from', async (t) => {
  const journal = await openJournal(t);
  const sent: Buffer[][] = [];
  const sink: Sink = {
    batch: { maxEvents: 10, maxBytes: 1e6, lingerMs: 0 },
    send: () => Promise.reject(new Error('never called: the sink takes stored bytes')),
    sendStored: async (batch) => {
      sent.push([...batch]);
      if (sent.length === 1) throw new RetriableError('destination down');
      return batch.map(() => ({ status: 'delivered' as const }));
    },
    check: async () => [],
    close: async () => {},
  };
  const { emitter, queue } = await startEmitter(t, sink, { journal, retry: { initialBackoffMs: 5, maxBackoffMs: 40 } });
  // One commit of 1 000 events: the entry cache keeps it as one block, and reads give views of it.
  await emitter.enqueue(Array.from({ length: 1000 }, (_, i) => event(`b${i}`)));
  await waitFor(() => queue.depth === 0, 'drained');
  const [first, retried] = [sent[0]!, sent[1]!];
  assert.ok(first[0]!.buffer.byteLength > 100_000, `the first send reads views of the commit's block (${first[0]!.buffer.byteLength} bytes)`);
  assert.deepEqual(retried.map(String), first.map(String), 'the same events, byte for byte');
  for (const payload of retried) assert.equal(payload.buffer.byteLength, payload.byteLength, 'a resent payload owns its bytes');
});

test('an event waiting to be resent to a sink reading objects remembers its own copy of its JSON, not the shared bytes it was appended or read with', async (t) => {
  const sink = new ScriptedSink();
  const held: AuditEvent[][] = [];
  sink.script[0] = (evs) => (held.push([...evs]), new RetriableError('destination down'));
  sink.script[1] = (evs) => (held.push([...evs]), evs.map(() => ({ status: 'delivered' as const })));
  const { emitter, queue } = await setup(t, sink);
  await emitter.enqueue(Array.from({ length: 5 }, (_, i) => event(`o${i}`)));
  await waitFor(() => queue.depth === 0, 'drained');
  for (const e of held[1]!) {
    const json = eventJson(e);
    assert.equal(json.buffer.byteLength, json.byteLength, 'the resent event owns its JSON bytes');
    assert.deepEqual(JSON.parse(json.toString()), e);
  }
});

test('queue order is kept across batches', async (t) => {
  const sink = new ScriptedSink();
  const { emitter, queue } = await setup(t, sink);
  const ids = Array.from({ length: 35 }, (_, i) => `e${String(i).padStart(2, '0')}`);
  for (const id of ids) await emitter.enqueue([event(id)]);
  await waitFor(() => queue.depth === 0, 'drained');
  assert.deepEqual(sink.delivered, ids);
});

test('stop drains what is queued before the deadline', async (t) => {
  const sink = new ScriptedSink();
  const { emitter, queue } = await setup(t, sink);
  await emitter.enqueue(Array.from({ length: 25 }, (_, i) => event(`s${i}`)));
  await emitter.stop(Date.now() + 5_000);
  assert.equal(queue.depth, 0);
  assert.equal(sink.delivered.length, 25);
});

test('draining a backlog through a synchronous sink yields to timers and I/O between batches', async (t) => {
  const sink = new ScriptedSink(); // resolves in microtasks, like the SQLite store
  const { emitter, queue } = await setup(t, sink);
  // Hold the loop until everything is queued, then let it drain 300 batches.
  await emitter.enqueue(Array.from({ length: 3000 }, (_, i) => event(`y${i}`)));
  const depthWhenTimerFired = await new Promise<number>((resolve) => setTimeout(() => resolve(queue.depth), 0));
  assert.ok(depthWhenTimerFired > 0, 'a timer ran while the backlog was still draining');
  await waitFor(() => queue.depth === 0, 'drained');
});

test('a dead-letter file that cannot be written does not stop the emitter: the event waits, then is dead-lettered', async (t) => {
  const dir = await tempDir(t);
  const blocker = join(dir, 'not-a-dir');
  writeFileSync(blocker, 'x');
  const sink = new ScriptedSink();
  sink.script = Array.from({ length: 10_000 }, () => (evs: readonly AuditEvent[]) => evs.map((e) => (e.id === 'bad' ? { status: 'rejected' as const, reason: 'too large' } : { status: 'delivered' as const })));
  const { emitter, queue } = await setup(t, sink, join(blocker, 'dead.ndjson'));
  await emitter.enqueue(['ok', 'bad'].map(event));
  await waitFor(() => /local storage: .*not-a-dir/.test(String(emitter.status().lastError?.message)), 'storage error reported');
  assert.equal(queue.depth, 1, 'the rejected event stays queued while its dead-letter write fails');
  rmSync(blocker);
  mkdirSync(blocker);
  await waitFor(() => queue.depth === 0, 'dead-lettered once the file can be written');
  assert.match(readFileSync(join(blocker, 'dead.ndjson'), 'utf8'), /"eventId":"bad"/);
  assert.deepEqual(sink.delivered, ['ok']);
});

test('whenFull: dropOldest — dropped events are counted in the metrics and their ack: delivered waiters are answered', async (t) => {
  const sink = new ScriptedSink();
  // The destination is down, so the queue fills.
  sink.script = Array.from({ length: 10_000 }, () => () => new RetriableError('connection refused'));
  // Room for exactly three events: the three new ones push out both old ones.
  const size = Buffer.byteLength(JSON.stringify(event('old-1')));
  const { emitter, queue, metrics } = await startEmitter(t, sink, { maxBytes: 3 * size, whenFull: 'dropOldest', retry: { initialBackoffMs: 50, maxBackoffMs: 200 } });
  const first = await emitter.enqueue([event('old-1'), event('old-2')], true);
  await emitter.enqueue(Array.from({ length: 3 }, (_, i) => event(`new-${i}`)));
  const reports = await Promise.all(first.deliveries);
  assert.deepEqual(reports.map((r) => r.delivered), [false, false]);
  assert.match(reports[0]!.reason!, /dropped: queue full \(whenFull: dropOldest\)/);
  assert.equal(queue.depth, 3);
  assert.match(await metrics.registry.getSingleMetricAsString('auditstream_component_discarded_events_total'), /reason="dropped_oldest"\} 2$/m);
});

/** The scripted sink, but each send first waits until the test lets it answer: requests overlap as with a slow destination. */
class HeldSink extends ScriptedSink {
  override readonly batch = { maxEvents: 10, maxBytes: 1e6, lingerMs: 0, maxInFlight: 2 };
  private readonly holds: (() => void)[] = [];
  get open(): number {
    return this.holds.length;
  }
  override async send(events: readonly AuditEvent[]): Promise<DeliveryOutcome[]> {
    await new Promise<void>((resolve) => this.holds.push(resolve));
    return super.send(events);
  }
  /** Lets the oldest held send answer. */
  answerOne(): void {
    this.holds.shift()?.();
  }
  /** Takes the oldest held send aside: it answers when the returned function is called. */
  holdOldest(): () => void {
    return this.holds.shift()!;
  }
  answerAll(): void {
    while (this.holds.length > 0) this.answerOne();
  }
}

const ids = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${String(from + i).padStart(2, '0')}`);

test('two in flight, paused while both are sent: the first batch, left undelivered, goes first on resume; every event is delivered once', async (t) => {
  const sink = new HeldSink();
  sink.script[0] = (evs) => evs.map(() => ({ status: 'retry', reason: 'throttled' }));
  const { emitter, queue } = await setup(t, sink);
  await emitter.enqueue(ids('p', 0, 30).map(event));
  await waitFor(() => sink.open === 2, 'two sends open');
  emitter.pause();
  sink.answerAll();
  await waitFor(() => sink.received.length === 2 && queue.depth === 20, 'the second batch delivered, the first kept');
  emitter.resume();
  await waitFor(() => sink.open === 2, 'two sends open after resume');
  sink.answerAll();
  await waitFor(() => queue.depth === 0, 'drained');
  assert.deepEqual(sink.received, [ids('p', 0, 10), ids('p', 10, 20), ids('p', 0, 10), ids('p', 20, 30)]);
  assert.deepEqual([...sink.delivered].sort(), ids('p', 0, 30));
});

test('two in flight: a batch that failed is resent only after the batch before it has ended, and nothing newer starts meanwhile', async (t) => {
  const sink = new HeldSink();
  // The script counts answers: the first to answer is the second batch.
  sink.script[0] = () => new RetriableError('503 from the destination');
  const { emitter, queue } = await setup(t, sink);
  await emitter.enqueue(ids('r', 0, 30).map(event));
  await waitFor(() => sink.open === 2, 'two sends open');
  // The second answers first, with a failure; the first is still open.
  const first = sink.holdOldest();
  sink.answerOne();
  await waitFor(() => sink.received.length === 1, 'the second batch failed');
  // Its backoff (at most 40 ms) is long over: still not resent, and no third batch, while the first is open.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(sink.open, 0);
  assert.equal(sink.received.length, 1);
  first();
  await waitFor(() => sink.open >= 1, 'the resend after the first ended');
  sink.answerAll();
  await waitFor(() => sink.open >= 1 || queue.depth === 0, 'the next');
  sink.answerAll();
  await waitFor(() => queue.depth === 0, 'drained');
  assert.deepEqual(sink.received, [ids('r', 10, 20), ids('r', 0, 10), ids('r', 10, 20), ids('r', 20, 30)]);
});

test("a sink's programming error is logged with the destination's secrets scrubbed from its message and stack", async (t) => {
  const sink = new ScriptedSink();
  // A TypeError is what a sink's JSON.parse of a receiver's answer throws, quoting the answer.
  sink.script[0] = () => new TypeError('Unexpected token in JSON at position 3: "tok-secret-123"');
  const lines: string[] = [];
  const { emitter } = await startEmitter(t, sink, {
    retry: { initialBackoffMs: 5, maxBackoffMs: 20 },
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    scrub: (text) => text.replaceAll('tok-secret-123', '********'),
  });
  await emitter.enqueue([event('a')]);
  await waitFor(() => sink.delivered.includes('a'), 'delivered on the retry');
  const log = lines.join('');
  assert.match(log, /sink failed with a programming error/);
  assert.match(log, /\*{8}/);
  assert.ok(!log.includes('tok-secret-123'), log);
});
