import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import { migrateLegacyQueues } from '../../src/queue/legacy-queue-migration.js';
import { tempDir } from '../support/temp.js';

const logger = pino({ level: 'silent' });

test("an older release's queue row whose payload is not a JSON object is dead-lettered on the move, and the rows around it reach the journal in order", async (t) => {
  const dataDir = await tempDir(t);
  mkdirSync(join(dataDir, 'queues'));
  // The table as the release before the journal made it (legacy-queue-migration.ts creates the same when missing).
  const db = new Database(join(dataDir, 'queues', 'log.db'));
  db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, partition_key TEXT, bytes INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, payload BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO entries (event_id, partition_key, bytes, enqueued_at, payload) VALUES (?, NULL, ?, 0, ?)');
  for (const [id, text] of [['a', '{"id":"a"}'], ['bad', '{not json}'], ['list', '[1]'], ['b', '{"id":"b"}']] as const) insert.run(id, text.length, Buffer.from(text));
  db.close();

  const journal = EmbeddedJournal.open({ dir: join(dataDir, 'journal'), logger });
  t.after(() => journal.close());
  const report = await migrateLegacyQueues(dataDir, journal, logger);
  assert.equal(report.moved.get('log'), 2);
  assert.equal(report.deadLettered.get('log'), 2);

  const queue = journal.addDestination('log', { maxBytes: 1 << 20, whenFull: 'block' });
  assert.deepEqual((await queue.read(10, 1 << 20)).map((e) => e.payload.toString()), ['{"id":"a"}', '{"id":"b"}']);
  const deadLetters = readFileSync(join(dataDir, 'dead-letter', 'log.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; reason: string; payloadBase64?: string; event?: unknown });
  assert.deepEqual(deadLetters.map((d) => d.eventId), ['bad', 'list']);
  assert.match(deadLetters[0]!.reason, /queue entry unreadable: .*JSON/);
  assert.equal(Buffer.from(deadLetters[0]!.payloadBase64!, 'base64').toString(), '{not json}', 'the bytes are kept as they were');
  assert.match(deadLetters[1]!.reason, /not a JSON object/);
  assert.ok(!existsSync(join(dataDir, 'queues')), 'the old file is gone once every row was moved or dead-lettered');
});
