import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const ACCESS_KEY = 'firehose-access-key-0123456789';

/**
 * Posts Firehose deliveries (NDJSON records, base64, the access-key header) in
 * a loop until stopped, and remembers the event ids of every delivery answered
 * 200: Firehose drops what it got a 200 for, so those must survive anything.
 */
function firehoseLoad(url: string, prefix: string) {
  const acked: string[] = [];
  let stopped = false;
  let n = 0;
  const worker = async () => {
    while (!stopped) {
      const requestId = `${prefix}-${n++}`;
      const ids = Array.from({ length: 20 }, (_, i) => `${requestId}-${i}`);
      const records = ids.map((id) => ({ data: Buffer.from(`${JSON.stringify({ id, type: 'login', time: new Date().toISOString(), actor: 'fh' })}\n`).toString('base64') }));
      try {
        const res = await fetch(`${url}/v1/firehose/cwl`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-amz-firehose-request-id': requestId, 'x-amz-firehose-access-key': ACCESS_KEY },
          body: JSON.stringify({ requestId, timestamp: Date.now(), records }),
        });
        await res.arrayBuffer();
        if (res.status === 200) acked.push(...ids);
      } catch {
        // The killed server reset the connection: Firehose would retry this delivery.
        if (stopped) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const done = Promise.all([worker(), worker()]);
  return {
    acked,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

test('firehose source: SIGKILL under load loses no delivery that was answered 200', async (t) => {
  const dataDir = await tempDir(t);
  const config = { sources: [{ type: 'firehose', name: 'cwl', secureParams: { accessKey: ACCESS_KEY } }], audit: { emitters: [{ type: 'audit-store' }] } };
  const first = await startServer(t, { dataDir, config });
  const load = firehoseLoad(first.url, 'fh');
  await waitFor(() => load.acked.length > 0, 'a first delivery answered 200', 30_000, 10);
  await new Promise((r) => setTimeout(r, Math.random() * 800));
  first.child.kill('SIGKILL');
  await first.exited;
  await load.stop();

  const second = await startServer(t, { dataDir, config });
  await waitFor(async () => (await emitterStatus(second.url))['audit-store']!.depth === 0, 'queue drained after the restart', 60_000);
  const stored = new Set((await allStoredEvents(second.url)).map((e) => e.id));
  assert.deepEqual(load.acked.filter((id) => !stored.has(id)), [], 'every event of a delivery answered 200 is stored');
  t.diagnostic(`${load.acked.length} events in deliveries answered 200 before the kill`);
});
