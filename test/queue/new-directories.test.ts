import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { DeadLetterFile } from '../../src/queue/dead-letter-file.js';
import { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import { tempDir } from '../support/temp.js';

const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

/**
 * The paths fsync'd from now until the test ends. A power cut cannot be
 * staged here, so the test watches the calls that decide what survives one:
 * the real fs functions run, and the ESM bindings the code imported see them.
 */
function watchFsyncs(t: TestContext): string[] {
  const synced: string[] = [];
  const opened = new Map<number, string>();
  const { openSync, fsyncSync } = fs;
  fs.openSync = ((path: string, ...rest: Parameters<typeof openSync> extends [unknown, ...infer R] ? R : never) => {
    const fd = openSync(path, ...rest);
    opened.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  fs.fsyncSync = (fd: number) => {
    synced.push(opened.get(fd) ?? `fd ${fd}`);
    fsyncSync(fd);
  };
  syncBuiltinESMExports();
  t.after(() => {
    fs.openSync = openSync;
    fs.fsyncSync = fsyncSync;
    syncBuiltinESMExports();
  });
  return synced;
}

const letter = { reason: 'refused', attempts: 1, payload: Buffer.from('{"id":"a"}'), eventId: 'a' };

test('a dead-letter file made in new directories (a tenant destination\'s first) has every new name synced, up to the directory that was there', async (t) => {
  const base = await tempDir(t);
  const synced = watchFsyncs(t);
  new DeadLetterFile(join(base, 'dead-letter', 'tenants', 'acme', 'siem.ndjson'), 'acme/siem').write([letter]);
  assert.deepEqual(
    [...synced].sort(),
    [base, join(base, 'dead-letter'), join(base, 'dead-letter', 'tenants'), join(base, 'dead-letter', 'tenants', 'acme')].sort(),
    'the file in acme/, acme/ in tenants/, tenants/ in dead-letter/, dead-letter/ in the data dir',
  );
  synced.length = 0;
  new DeadLetterFile(join(base, 'dead-letter', 'tenants', 'acme', 'other.ndjson'), 'acme/other').write([letter]);
  assert.deepEqual(synced, [join(base, 'dead-letter', 'tenants', 'acme')], 'a new file in a directory that exists: that directory alone');
});

test('a journal opened in a new directory has that directory\'s name synced in its parent before anything is acknowledged in it', async (t) => {
  const base = await tempDir(t);
  const synced = watchFsyncs(t);
  const journal = EmbeddedJournal.open({ dir: join(base, 'data', 'journal'), logger: pino({ level: 'silent' }) });
  t.after(() => journal.close());
  assert.deepEqual([...synced].sort(), [base, join(base, 'data')], 'journal/ in data/, data/ in the directory that was there');
});
