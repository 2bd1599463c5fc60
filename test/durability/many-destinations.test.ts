import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const DESTINATIONS = 1000;
const TYPES = 100;

test('1,000 emitters on one journal: the 1% an event type routes to get every event; the idle ones cost no file', async (t) => {
  const dataDir = await tempDir(t);
  // Emitter i takes event type tN with N = i mod 100: each type reaches 10 emitters.
  const config = {
    audit: {
      eventTypes: Array.from({ length: TYPES }, (_, k) => `t${k}`),
      emitters: Array.from({ length: DESTINATIONS }, (_, i) => ({ type: 'log', name: `d${i}`, file: `logs/d${i}.log`, fsync: false, include: [`t${i % TYPES}`] })),
    },
  };
  const server = await startServer(t, { dataDir, config });
  const ids: string[] = [];
  for (let b = 0; b < 5; b++) {
    const batch = Array.from({ length: 40 }, (_, i) => ({ id: `m-${b}-${i}`, type: 't7', time: '2024-01-01T00:00:00Z' }));
    const res = await postEvents(server.url, batch);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    ids.push(...batch.map((e) => e.id));
  }
  const takers = Array.from({ length: DESTINATIONS }, (_, i) => i).filter((i) => i % TYPES === 7);
  assert.equal(takers.length, 10);
  const logged = (i: number) => {
    const file = join(dataDir, 'logs', `d${i}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id) : [];
  };
  await waitFor(() => takers.every((i) => logged(i).length === ids.length), 'every taker logged every event', 60_000);
  for (const i of takers) assert.deepEqual(logged(i), ids, `d${i} got every event once, in order`);

  // Idle emitters: no log file, nothing of their own in the journal (one shared directory: segments and one state file).
  const logFiles = readdirSync(join(dataDir, 'logs')).filter((f) => f.endsWith('.log'));
  assert.deepEqual(logFiles.sort(), takers.map((i) => `d${i}.log`).sort());
  const journalFiles = readdirSync(join(dataDir, 'journal'));
  assert.ok(journalFiles.every((f) => /^segment-\d+\.log$/.test(f) || /^state\.db(-wal|-shm)?$/.test(f)), journalFiles.join(', '));
  assert.ok(!existsSync(join(dataDir, 'queues')), 'no per-emitter queue files');
  const status = await emitterStatus(server.url);
  assert.equal(Object.keys(status).length, DESTINATIONS);
  assert.equal(Object.values(status).reduce((n, s) => n + s.depth, 0), 0);
  const segments = journalFiles.filter((f) => f.startsWith('segment-'));
  const journalBytes = segments.reduce((n, f) => n + readFileSync(join(dataDir, 'journal', f)).length, 0);
  t.diagnostic(`${segments.length} segment file(s), ${journalBytes} bytes for ${ids.length} events routed to 10 emitters each`);
});
