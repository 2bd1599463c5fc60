import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

// docs/failure-modes.md row 7 (vectordotdev/vector #16231, #19759): a corrupt disk buffer must never block start-up.
test('a journal segment that is not a segment is moved aside and reported; the server starts and delivers', async (t) => {
  const dataDir = await tempDir(t);
  mkdirSync(join(dataDir, 'journal'), { recursive: true });
  writeFileSync(join(dataDir, 'journal', 'segment-000000000001.log'), Buffer.alloc(16_384, 0xa5));
  const server = await startServer(t, { dataDir });
  const moved = readdirSync(join(dataDir, 'journal')).filter((f) => f.startsWith('segment-000000000001.log.corrupt-'));
  assert.equal(moved.length, 1, 'the unreadable file is kept for inspection');
  assert.match(server.stderr(), /journal segment unreadable/);
  const status = (await emitterStatus(server.url)).log as unknown as { corruptQueueMovedTo?: string };
  assert.equal(status.corruptQueueMovedTo, join(dataDir, 'journal', moved[0]!), 'the status names the file');
  assert.match(await (await fetch(`${server.url}/metrics`)).text(), /auditstream_journal_corrupt_segments_total 1$/m);
  assert.equal((await postEvents(server.url, { id: 'after', type: 'login', time: '2024-01-01T00:00:00Z' })).status, 202);
  await waitFor(() => readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').includes('"after"'), 'delivered after recovery');
});

test('a queue file of an older release that is not a database is moved aside and reported; the server starts and delivers', async (t) => {
  const dataDir = await tempDir(t);
  mkdirSync(join(dataDir, 'queues'), { recursive: true });
  writeFileSync(join(dataDir, 'queues', 'log.db'), Buffer.alloc(16_384, 0xa5));
  const server = await startServer(t, { dataDir });
  assert.ok(readdirSync(join(dataDir, 'queues')).some((f) => f.startsWith('log.db.corrupt-')), 'the unreadable file is kept for inspection');
  assert.match(server.stderr(), /queue file unreadable; moved aside/);
  assert.equal((await postEvents(server.url, { id: 'after', type: 'login', time: '2024-01-01T00:00:00Z' })).status, 202);
  await waitFor(() => readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').includes('"after"'), 'delivered after recovery');
});

test('a journal entry whose bytes are not an event goes to the dead-letter file with the reason; the entries around it are delivered', async (t) => {
  const dataDir = await tempDir(t);
  const config = { audit: { emitters: [{ type: 'audit-store' }] } };
  const first = await startServer(t, { dataDir, config });
  first.child.kill('SIGTERM');
  await first.exited;
  // Entries as a buggy producer of the journal might leave them: two good, one cut short in the middle (with a valid checksum).
  const journal = EmbeddedJournal.open({ dir: join(dataDir, 'journal'), logger: pino({ level: 'silent' }) });
  journal.addDestination('audit-store', { maxBytes: 1e9, whenFull: 'block' });
  const good = (id: string) => Buffer.from(JSON.stringify({ id, time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' }));
  await journal.append(
    [['g-1', good('g-1')], ['torn', Buffer.from('{"id":"torn","time":"2024-01-0')], ['g-2', good('g-2')]].map(([id, payload]) => ({ eventId: id as string, partitionKey: null, payload: payload as Buffer, destinations: ['audit-store'] })),
  );
  await journal.close();

  const second = await startServer(t, { dataDir, config });
  await waitFor(async () => (await emitterStatus(second.url))['audit-store']!.depth === 0, 'backlog drained');
  assert.deepEqual((await allStoredEvents(second.url)).map((e) => e.id).sort(), ['g-1', 'g-2']);
  const dead = readFileSync(join(dataDir, 'dead-letter', 'audit-store.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(dead.length, 1);
  assert.equal(dead[0].eventId, 'torn');
  assert.match(dead[0].reason, /queue entry unreadable/);
  assert.equal(Buffer.from(dead[0].payloadBase64, 'base64').toString(), '{"id":"torn","time":"2024-01-0', 'the bytes are kept as they were');
  const status = (await emitterStatus(second.url))['audit-store'] as unknown as { deadLettered: number };
  assert.equal(status.deadLettered, 1);
});
