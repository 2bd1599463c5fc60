/**
 * server.limits.maxIngestBytesInFlight: the request bodies the server parses
 * and journals at once are bounded server-wide. A request beyond the budget is
 * refused before it is parsed, with 429 INGEST_BUSY and Retry-After, and
 * nothing of it is acknowledged; a body alone is always taken.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpReceiver } from '../support/http-receiver.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

test('a request arriving while others fill maxIngestBytesInFlight gets 429 INGEST_BUSY with Retry-After, and is taken once they are done', async (t) => {
  const dataDir = await tempDir(t);
  // The destination holds its answer until released, so the first request stays in flight (ack: delivered) for as long as the test needs.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const receiver = await startHttpReceiver(t, async () => {
    await held;
    return { status: 200 };
  });
  const server = await startServer(t, {
    dataDir,
    config: {
      server: { limits: { maxIngestBytesInFlight: 64 } },
      audit: { ack: 'delivered', emitTimeoutInSec: 60, emitters: [{ type: 'http', name: 'hook', url: `${receiver.url}/in` }] },
    },
  });
  const first = { id: 'first', type: 'login', time: '2024-01-01T00:00:00Z', actor: 'a-longer-actor-name-so-the-body-is-over-the-budget' };
  assert.ok(JSON.stringify(first).length > 64, 'the first body is larger than the budget on its own');
  const firstAnswer = postEvents(server.url, first);
  await waitFor(() => receiver.requests.length > 0, 'the first request to reach the destination');

  const busy = await postEvents(server.url, { id: 'second', type: 'login', time: '2024-01-01T00:00:01Z' });
  assert.equal(busy.status, 429, JSON.stringify(busy.body));
  assert.equal(busy.body.code, 'INGEST_BUSY');
  assert.match(busy.body.error, /server\.limits\.maxIngestBytesInFlight/);
  assert.equal(busy.headers.get('retry-after'), '1');

  release();
  assert.equal((await firstAnswer).status, 202, 'a body larger than the budget is taken when nothing else is in flight');
  const retried = await postEvents(server.url, { id: 'second', type: 'login', time: '2024-01-01T00:00:01Z' });
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  await waitFor(() => receiver.requests.some((r) => r.text.includes('"second"')), 'the retried event to be delivered');
  assert.equal(receiver.requests.filter((r) => r.text.includes('"second"')).length, 1, 'the refused attempt delivered nothing');
});
