import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/logger.js';
import { httpSinkDefinition } from '../../src/sinks/http/sink.js';
import { guardedSocketFactory } from '../../src/sinks/kafka/guarded-socket.js';
import type { ConnectGuard } from '../../src/sinks/sink.js';
import { connectGuard } from '../../src/tenants/connect-guard.js';
import type { DestinationPolicy } from '../../src/tenants/destination-policy.js';
import { startHttpReceiver } from '../support/http-receiver.js';

// A name that passed the destination policy when saved and resolves to an internal address now (DNS rebinding) is
// played here by `localhost`: the policy with no allowNetworks stands for "checked when the name was public".
const guardOf = (allowNetworks: string[] = []): ConnectGuard => connectGuard({ ...parseConfig(configSchema, {}, '').tenants.destinationPolicy, allowNetworks } as DestinationPolicy);
const LOOPBACK = ['127.0.0.1/32', '::1/128'];

const event: AuditEvent = { id: 'g1', time: '2024-05-01T12:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' };

function httpSink(t: TestContext, url: string, guard: ConnectGuard) {
  const parsed = parseConfig(httpSinkDefinition.schema, { url }, 'audit.emitters[0]');
  const sink = httpSinkDefinition.create(parsed, { configPath: 'audit.emitters[0]', emitterName: 'acme/siem', dataDir: '/nonexistent', logger: createLogger('fatal'), metrics: new Registry(), connectGuard: guard });
  t.after(() => sink.close());
  return sink;
}

test("a tenant's http sink connects only where the policy lets it, judged when it connects", async (t) => {
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const url = `http://localhost:${receiver.port}/hook`;

  const refused = httpSink(t, url, guardOf());
  await assert.rejects(refused.send([event], AbortSignal.timeout(15_000)), /resolves to .*(127\.0\.0\.1|::1).*may not reach it/);
  const steps = await refused.check(AbortSignal.timeout(15_000));
  assert.equal(steps[0]!.ok, false);
  assert.match(steps[0]!.detail, /may not reach it/);
  assert.equal(steps.length, 1, 'no connection is tried');
  assert.equal(receiver.requests.length, 0);

  // An address written as such is judged too: the operator may have narrowed allowNetworks since it was saved.
  const literal = httpSink(t, receiver.url, guardOf());
  await assert.rejects(literal.send([event], AbortSignal.timeout(15_000)), /127\.0\.0\.1 is a loopback.*may not reach it/);
  assert.equal(receiver.requests.length, 0);

  const allowed = httpSink(t, url, guardOf(LOOPBACK));
  assert.deepEqual((await allowed.send([event], AbortSignal.timeout(15_000))).map((o) => o.status), ['delivered']);
  assert.equal(receiver.requests.length, 1);
});

test('Kafka broker connections, to the hosts brokers advertise included, are judged by the policy', async (t) => {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s.on('error', () => {})));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const dial = (guard: ConnectGuard, host: string) =>
    new Promise<void>((resolve, reject) => {
      const socket = guardedSocketFactory(guard)({ host, port, ssl: false as never /* what kafkajs passes without TLS, though its types say otherwise */, onConnect: () => (socket.destroy(), resolve()) });
      socket.on('error', reject);
    });

  // A broker advertising 127.0.0.1 (or ::ffff:127.0.0.1, or the metadata service) in its metadata is not dialled.
  for (const host of ['127.0.0.1', '::ffff:127.0.0.1', '169.254.169.254', 'localhost']) await assert.rejects(dial(guardOf(), host), /may not reach it/, host);
  assert.equal(accepted.length, 0);
  await dial(guardOf(LOOPBACK), '127.0.0.1');
  await dial(guardOf(LOOPBACK), 'localhost');
});
