import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import type { AuditEvent } from '../../src/core/event.js';
import { DeliveryPolicy } from '../../src/pipeline/delivery-policy.js';
import { PipelineMetrics } from '../../src/pipeline/metrics.js';
import { RouteTable } from '../../src/pipeline/route-table.js';
import { Router } from '../../src/pipeline/router.js';
import type { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import type { DeliveryOutcome, Sink } from '../../src/sinks/sink.js';
import { openJournal, startEmitter } from '../support/emitter-harness.js';
import { waitFor } from '../support/temp.js';

/*
 * Test double: a sink whose sends never complete (a hung destination), or
 * complete at once. Real sinks are exercised elsewhere; here the router's
 * waiting and policy logic is the subject.
 */
function sink(mode: 'hang' | 'ok'): Sink {
  return {
    batch: { maxEvents: 100, maxBytes: 1e6, lingerMs: 0 },
    send: (events) => (mode === 'hang' ? new Promise<DeliveryOutcome[]>(() => {}) : Promise.resolve(events.map(() => ({ status: 'delivered' as const })))),
    check: async () => [],
    close: async () => {},
  };
}

const event = (id: string, type = 'login'): AuditEvent => ({ id, time: '2024-01-01T00:00:00.000Z', type, source: 'generic', outcome: 'success', details: {}, raw: '{}' });

/** One journal per test, as in the pipeline: the router writes each event once for all its emitters. */
const journals = new WeakMap<TestContext, EmbeddedJournal>();
async function journalOf(t: TestContext): Promise<EmbeddedJournal> {
  let j = journals.get(t);
  if (!j) journals.set(t, (j = await openJournal(t)));
  return j;
}

async function started(t: TestContext, name: string, mode: 'hang' | 'ok', opts: { maxBytes?: number; include?: string[] } = {}) {
  return startEmitter(t, sink(mode), { name, ...opts, journal: await journalOf(t), retry: { initialBackoffMs: 10, maxBackoffMs: 50 } });
}

async function emitter(t: TestContext, name: string, mode: 'hang' | 'ok', opts: { maxBytes?: number; include?: string[] } = {}) {
  return (await started(t, name, mode, opts)).emitter;
}

test('ack: delivered — an aborted publish (a source stopping) answers at once, not at emitTimeoutInSec', async (t) => {
  const hung = await emitter(t, 'hung', 'hang');
  const router = new Router({ routes: new RouteTable([hung]), journal: await journalOf(t), policy: new DeliveryPolicy({}), ack: 'delivered', timeoutMs: 60_000, logger: pino({ level: 'silent' }), metrics: new PipelineMetrics() });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const started = Date.now();
  const result = await router.publish([event('a')], ac.signal);
  assert.equal(result.ok, false);
  assert.match(result.failed[0]!.reason, /source is stopping/);
  assert.ok(Date.now() - started < 10_000, 'did not wait for the timeout');
});

test('a full best-effort queue does not fail the producer; a full required one does, with Retry-After', async (t) => {
  const big = (id: string) => ({ ...event(id), message: 'x'.repeat(400) });
  const store = await emitter(t, 'store', 'hang');
  const { emitter: webhook, metrics: webhookMetrics } = await started(t, 'webhook', 'hang', { maxBytes: 600 });
  const metrics = new PipelineMetrics();
  const policy = new DeliveryPolicy({ emitToAllOf: ['store'] });
  const router = new Router({ routes: new RouteTable([store, webhook]), journal: await journalOf(t), policy, ack: 'buffered', timeoutMs: 5_000, logger: pino({ level: 'silent' }), metrics });
  assert.equal((await router.publish([big('1')])).ok, true);
  assert.equal((await router.publish([big('2')])).ok, true, 'only the best-effort webhook is full');
  // Counted as the emitter's loss, on its own metrics.
  assert.match(await webhookMetrics.registry.getSingleMetricAsString('auditstream_component_discarded_events_total'), /component_id="webhook".*reason="queue_full"\} 1$/m);

  const smallStore = await emitter(t, 'small-store', 'hang', { maxBytes: 600 });
  const strict = new Router({ routes: new RouteTable([smallStore]), journal: await journalOf(t), policy: new DeliveryPolicy({ emitToAllOf: ['small-store'] }), ack: 'buffered', timeoutMs: 5_000, logger: pino({ level: 'silent' }), metrics: new PipelineMetrics() });
  assert.equal((await strict.publish([big('3')])).ok, true);
  const full = await strict.publish([big('4')]);
  assert.equal(full.ok, false, 'the required store is full');
  assert.deepEqual(full.failed.map((f) => f.emitter), ['small-store']);
  assert.ok((full.retryAfterSec ?? 0) >= 1);
});

test('events are routed by include; an event no emitter takes is counted, not an error', async (t) => {
  const admins = await emitter(t, 'admins', 'ok', { include: ['admin_*'] });
  const metrics = new PipelineMetrics();
  const router = new Router({ routes: new RouteTable([admins]), journal: await journalOf(t), policy: new DeliveryPolicy({}), ack: 'buffered', timeoutMs: 5_000, logger: pino({ level: 'silent' }), metrics });
  assert.equal((await router.publish([event('x', 'admin_added'), event('y', 'login')])).ok, true);
  assert.equal(admins.status().depth + admins.status().delivered, 1);
  assert.match(await metrics.registry.getSingleMetricAsString('auditstream_component_discarded_events_total'), /reason="no_emitter"\} 1$/m);
});

test('one request of interleaved event types: each emitter gets exactly the events of its types', async (t) => {
  // The router decides once per type and request; an answer must never leak to another type's events.
  const admins = await emitter(t, 'admins', 'ok', { include: ['admin_*'] });
  const logins = await emitter(t, 'logins', 'ok', { include: ['login'] });
  const router = new Router({ routes: new RouteTable([admins, logins]), journal: await journalOf(t), policy: new DeliveryPolicy({}), ack: 'buffered', timeoutMs: 5_000, logger: pino({ level: 'silent' }), metrics: new PipelineMetrics() });
  const types = ['login', 'admin_added', 'login', 'logout', 'admin_removed', 'login', 'admin_added'];
  assert.equal((await router.publish(types.map((type, i) => event(`e${i}`, type)))).ok, true);
  const taken = (em: typeof admins) => em.status().depth + em.status().delivered;
  await waitFor(() => taken(admins) === 3 && taken(logins) === 3, 'both emitters to hold their events');
  assert.equal(taken(admins), 3);
  assert.equal(taken(logins), 3);
});

test('ack: delivered answers as soon as the required emitters confirmed; a hung best-effort emitter is not waited for (docs/failure-modes.md row 11)', async (t) => {
  const store = await emitter(t, 'store', 'ok');
  const webhook = await emitter(t, 'webhook', 'hang');
  const router = new Router({ routes: new RouteTable([store, webhook]), journal: await journalOf(t), policy: new DeliveryPolicy({ emitToAllOf: ['store'] }), ack: 'delivered', timeoutMs: 30_000, logger: pino({ level: 'silent' }), metrics: new PipelineMetrics() });
  const started = Date.now();
  const result = await router.publish([event('q1'), event('q2')]);
  assert.equal(result.ok, true);
  assert.ok(Date.now() - started < 10_000, `answered without waiting out emitTimeoutInSec (${Date.now() - started} ms)`);
  await waitFor(() => webhook.status().depth === 2, 'the best-effort emitter still got the events');
});

test('an accepted event must be on disk somewhere: refused when every emitter it is routed to failed to queue it', async (t) => {
  const full = await emitter(t, 'only-best-effort', 'hang', { maxBytes: 100 });
  const required = await emitter(t, 'store', 'ok', { include: ['admin_*'] });
  const router = new Router({ routes: new RouteTable([full, required]), journal: await journalOf(t), policy: new DeliveryPolicy({ emitToAllOf: ['store'] }), ack: 'buffered', timeoutMs: 5_000, logger: pino({ level: 'silent' }), metrics: new PipelineMetrics() });
  // A login goes only to the best-effort emitter (the store takes admin events), whose queue cannot hold it.
  const result = await router.publish([{ ...event('big'), message: 'x'.repeat(500) }]);
  assert.equal(result.ok, false);
  assert.deepEqual(result.failed.map((f) => f.emitter), ['only-best-effort']);
  assert.ok((result.retryAfterSec ?? 0) >= 1);
});

test('a request spread over many emitters checks each event once per emitter that settles, not every event per emitter', async (t) => {
  // One event per emitter, as a batch spread over a thousand tenants' destinations is: re-checking the
  // whole request whenever one emitter settles made such a request cost emitters × events.
  const count = 100;
  const emitters = [];
  for (let k = 0; k < count; k++) emitters.push(await emitter(t, `d${k}`, 'ok', { include: [`kind${k}`] }));
  let checks = 0;
  class CountingPolicy extends DeliveryPolicy {
    override missing(routed: readonly string[], confirmed: ReadonlySet<string>): string[] {
      checks += 1;
      return super.missing(routed, confirmed);
    }
  }
  const router = new Router({ routes: new RouteTable(emitters), journal: await journalOf(t), policy: new CountingPolicy({}), ack: 'buffered', timeoutMs: 5_000, logger: pino({ level: 'silent' }), metrics: new PipelineMetrics() });
  const result = await router.publish(Array.from({ length: count }, (_, k) => event(`e${k}`, `kind${k}`)));
  assert.equal(result.ok, true);
  assert.ok(checks <= 2 * count, `${checks} policy checks for ${count} events on ${count} emitters`);
  for (const em of emitters) assert.equal(em.status().depth + em.status().delivered, 1, `${em.name} holds its one event`);
});
