import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

/*
 * test/fixtures/legacy-queues was written by the release before the journal,
 * with its own DiskQueue class: the log emitter had delivered legacy-1 and
 * legacy-2 and still queued legacy-3 and legacy-4; the audit-store emitter
 * queued all four (its destination was down).
 */
const FIXTURE = resolve(import.meta.dirname, '..', 'fixtures', 'legacy-queues');

test('a dataDir of the release before the journal: what its queues held is delivered, then the old files are gone', async (t) => {
  const dataDir = await tempDir(t);
  cpSync(FIXTURE, dataDir, { recursive: true });
  const server = await startServer(t, { dataDir, env: { AUDITSTREAM_LOG_LEVEL: 'info' } });
  await waitFor(async () => {
    const s = await emitterStatus(server.url);
    return s.log!.depth === 0 && s['audit-store']!.depth === 0;
  }, 'both backlogs delivered');
  assert.deepEqual((await allStoredEvents(server.url)).map((e) => e.id).sort(), ['legacy-1', 'legacy-2', 'legacy-3', 'legacy-4']);
  const logged = readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
  assert.deepEqual(logged, ['legacy-3', 'legacy-4'], 'the log emitter gets what it had not delivered, in order, and nothing twice');
  assert.ok(!existsSync(join(dataDir, 'queues')), 'the old queue files are removed once moved');
  assert.match(server.stderr(), /moved the queue of an older release into the journal/);

  // A restart finds everything delivered: nothing is moved or sent again.
  server.child.kill('SIGTERM');
  await server.exited;
  const again = await startServer(t, { dataDir });
  const s = await emitterStatus(again.url);
  assert.equal(s.log!.depth + s['audit-store']!.depth, 0);
  assert.equal(readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').length, 2);
});
