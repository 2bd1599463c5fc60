import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { steadyLoad } from '../support/load.js';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

// The timeout itself is test/durability/in-flight.test.ts's: here every destination drains well within it.
test('SIGTERM during load exits cleanly and loses nothing acknowledged', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { shutdownTimeoutSec: 10 } } });
  const load = steadyLoad(server.url, { prefix: 'term', concurrency: 4, batchSize: 50 });
  await waitFor(() => load.acked.length >= 500, 'some load acknowledged');
  server.child.kill('SIGTERM');
  const { code } = await server.exited;
  await load.stop();
  assert.equal(code, 0, `clean exit; logs:\n${server.stderr()}`);

  const again = await startServer(t, { dataDir });
  await waitFor(async () => {
    const s = await emitterStatus(again.url);
    return s.log!.depth === 0 && s['audit-store']!.depth === 0;
  }, 'anything left queued delivered after restart');
  const stored = new Set((await allStoredEvents(again.url)).map((e) => e.id));
  const logged = new Set(readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id));
  for (const id of load.acked) {
    assert.ok(stored.has(id), `${id} in the store`);
    assert.ok(logged.has(id), `${id} in the log`);
  }
});
