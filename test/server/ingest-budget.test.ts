/**
 * server.limits.maxIngestBytesInFlight: the request bodies the server parses
 * and journals at once are bounded server-wide. A request beyond the budget is
 * refused before it is parsed, with 429 INGEST_BUSY and Retry-After, and
 * nothing of it is acknowledged; a body alone is always taken. A request
 * waiting for delivery holds none of it (test/server/tenant-isolation.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHttpReceiver } from '../support/http-receiver.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

test('a request arriving while another body is parsed and journalled beyond maxIngestBytesInFlight gets 429 INGEST_BUSY with Retry-After, and is taken once it is done', async (t) => {
  const dataDir = await tempDir(t);
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const server = await startServer(t, {
    dataDir,
    config: {
      server: { limits: { maxIngestBytesInFlight: '1MiB' } },
      audit: { emitters: [{ type: 'http', name: 'hook', url: `${receiver.url}/in`, batch: { lingerMs: 0 } }] },
    },
  });
  // The most events one request may hold, some 4.5 MB: parsing them takes many turns of the event loop
  // (the parser hands it back every few ms), in which the small requests below are answered.
  const big = Array.from({ length: 10_000 }, (_, i) => ({ id: `big-${i}`, type: 'login', time: '2024-01-01T00:00:00Z', actor: 'a'.repeat(300) }));
  // A small request may reach the server before the big body is read: then the big one, not alone, is refused as any
  // other would be, and is sent again as a producer would after Retry-After. The smalls wait for that resend.
  type Answer = Awaited<ReturnType<typeof postEvents>>;
  let bigAnswer: Answer | undefined;
  let bigSends = 0;
  const sendBig = () => {
    bigSends += 1;
    void postEvents(server.url, big).then((res) => (bigAnswer = res));
  };
  sendBig();
  const taken: string[] = [];
  const refused: { id: string; body: any; retryAfter: string | null }[] = [];
  for (let i = 0; ; i++) {
    if (bigAnswer?.status === 429 && bigAnswer.body.code === 'INGEST_BUSY' && bigSends < 20) {
      bigAnswer = undefined;
      sendBig();
      await sleep(50);
      continue;
    }
    if (bigAnswer) break;
    const id = `small-${i}`;
    const res = await postEvents(server.url, { id, type: 'login', time: '2024-01-01T00:00:01Z' });
    if (res.status === 202) taken.push(id);
    else refused.push({ id, body: res.body, retryAfter: res.headers.get('retry-after') });
  }
  assert.equal(bigAnswer.status, 202, `a body larger than the budget is taken when nothing else is in flight (sent ${bigSends} times)`);
  t.diagnostic(`${taken.length} small requests taken, ${refused.length} refused while the big body was in flight`);
  assert.ok(refused.length > 0, `no small request arrived while the big body was parsed (${taken.length} taken)`);
  for (const r of refused) {
    assert.equal(r.body.code, 'INGEST_BUSY', JSON.stringify(r.body));
    assert.match(r.body.error, /server\.limits\.maxIngestBytesInFlight/);
    assert.equal(r.retryAfter, '1');
  }

  const second = refused[0]!.id;
  const retried = await postEvents(server.url, { id: second, type: 'login', time: '2024-01-01T00:00:01Z' });
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  const delivered = () => receiver.requests.flatMap((r) => (JSON.parse(r.text) as { id: string }[]).map((e) => e.id));
  await waitFor(() => delivered().length >= big.length + taken.length + 1, 'every taken event delivered', 60_000);
  assert.equal(delivered().filter((id) => id === second).length, 1, 'the refused attempt delivered nothing');
  for (const r of refused.slice(1)) assert.ok(!delivered().includes(r.id), `${r.id} was refused, and is not delivered`);
});
