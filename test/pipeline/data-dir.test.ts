import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { DataDirLockedError, prepareDataDir } from '../../src/pipeline/data-dir.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { DeadLetterFile } from '../../src/queue/dead-letter-file.js';
import { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import { SqliteLeaseTable } from '../../src/sources/kinesis/lease-table-sqlite.js';
import { S3SourceState } from '../../src/sources/s3/state.js';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const octal = (m: number) => `0${m.toString(8)}`;

/** Every path under `dir` (dir included) with its mode, in octal. */
function modes(dir: string): Map<string, string> {
  const out = new Map<string, string>([['.', octal(mode(dir))]]);
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      out.set(relative(dir, path), octal(mode(path)));
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}

const event = (id: string) => ({ id, type: 'login', actor: 'alice', time: new Date().toISOString() });

test('serve under umask 022: dataDir and every directory in it are 0700, every file 0600, log files and archives 0640', async (t) => {
  const root = await tempDir(t);
  const dataDir = join(root, 'data');
  const config = { audit: { emitters: [{ type: 'log' }, { type: 'audit-store' }] } };
  const first = await startServer(t, { dataDir, configDir: root, config, umask: '022' });
  assert.equal((await postEvents(first.url, [event('a-1'), event('a-2')])).status, 202);
  await waitFor(async () => (await allStoredEvents(first.url)).length === 2, 'events stored');
  first.child.kill('SIGTERM');
  await first.exited;

  // The second run archives yesterday's log file and dead-letters a torn journal entry.
  const log = join(dataDir, 'logs', 'audit.log');
  const yesterday = new Date(Date.now() - 86_400_000);
  utimesSync(log, yesterday, yesterday);
  const journal = EmbeddedJournal.open({ dir: join(dataDir, 'journal'), logger: pino({ level: 'silent' }) });
  journal.addDestination('audit-store', { maxBytes: 1e9, whenFull: 'block' });
  await journal.append([{ eventId: 'torn', partitionKey: null, payload: Buffer.from('{"id":"torn","time":"2024-01-0'), destinations: ['audit-store'] }]);
  await journal.close();

  const second = await startServer(t, { dataDir, configDir: root, config, umask: '022' });
  assert.equal((await postEvents(second.url, [event('b-1')])).status, 202);
  await waitFor(async () => (await allStoredEvents(second.url)).length === 3, 'the new event stored');
  await waitFor(async () => (await emitterStatus(second.url))['audit-store']!.depth === 0, 'the torn entry dead-lettered');
  await waitFor(() => readFileSync(log, 'utf8').includes('"b-1"'), 'the new event logged');

  const found = modes(dataDir);
  const wrong = [...found].filter(([path, m]) => {
    if (path === '.' || statSync(join(dataDir, path)).isDirectory()) return m !== '0700';
    return m !== (path.startsWith('logs/') ? '0640' : '0600');
  });
  assert.deepEqual(wrong, [], 'directories 0700, files 0600, log files 0640');
  const paths = [...found.keys()].join(', ');
  for (const expected of ['lock', 'audit.db', 'audit.db-wal', 'audit.db-shm', 'journal/state.db', 'journal/state.db-wal', 'dead-letter/audit-store.ndjson', 'logs/audit.log']) {
    assert.ok(found.has(expected), `${expected} exists (found ${paths})`);
  }
  assert.ok([...found.keys()].some((p) => /^logs\/archive\/audit\.\d{4}-\d{2}-\d{2}\.log\.gz$/.test(p)), `a rolled archive exists (found ${paths})`);
  assert.ok([...found.keys()].some((p) => /^journal\/segment-\d+\.log$/.test(p)), `a journal segment exists (found ${paths})`);
});

test('in-process under umask 022 (no serve to set one): the pipeline\'s journal, store, dead-letter and log files and the collectors\' state are private', async (t) => {
  const root = await tempDir(t);
  const dataDir = join(root, 'data');
  const previous = process.umask(0o022);
  t.after(() => process.umask(previous));
  const { config } = loadConfig({ env: {}, overrides: { dataDir } });
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  const published = await pipeline.router.publish([{ id: 'p-1', time: new Date().toISOString(), type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' }]);
  assert.equal(published.ok, true);
  await waitFor(() => existsSync(join(dataDir, 'logs', 'audit.log')) && readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').includes('"p-1"'), 'the event logged');
  await pipeline.stop(5_000);
  new DeadLetterFile(join(dataDir, 'dead-letter', 'log.ndjson'), 'log').write([{ reason: 'test', attempts: 1, payload: Buffer.from('{}'), eventId: 'x' }]);
  new S3SourceState(join(dataDir, 'sources', 's3-0'), { bucket: 'b', prefix: '' }).close();
  const leases = new SqliteLeaseTable(join(dataDir, 'kinesis-leases.sqlite'), 'app');
  await leases.open();
  await leases.close();

  const found = modes(dataDir);
  const paths = [...found.keys()].join(', ');
  for (const expected of ['audit.db', 'journal/state.db', 'dead-letter/log.ndjson', 'logs/audit.log', 'sources/s3-0/state.sqlite', 'kinesis-leases.sqlite']) {
    assert.ok(found.has(expected), `${expected} exists (found ${paths})`);
  }
  const wrong = [...found].filter(([path, m]) => {
    if (path === '.' || statSync(join(dataDir, path)).isDirectory()) return m !== '0700';
    return m !== (path.startsWith('logs/') ? '0640' : '0600');
  });
  assert.deepEqual(wrong, [], 'directories 0700, files 0600, log files 0640');
});

test('an existing dataDir open to others is narrowed to 0700 and the start says so; files an older version left wider are narrowed', async (t) => {
  const root = await tempDir(t);
  const dataDir = join(root, 'data');
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, 'logs', 'audit.log'), '', { mode: 0o666 });
  chmodSync(join(dataDir, 'logs', 'audit.log'), 0o666);
  const server = await startServer(t, { dataDir, configDir: root, config: { audit: { emitters: [{ type: 'log' }] } }, umask: '022' });
  assert.equal((await postEvents(server.url, [event('c-1')])).status, 202);
  await waitFor(() => readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').includes('"c-1"'), 'the event logged');
  assert.equal(octal(mode(dataDir)), '0700');
  assert.match(server.stderr(), /data dir was open to other users; narrowed it to owner only/);

  assert.equal(octal(mode(join(dataDir, 'logs', 'audit.log'))), '0640');
});

test('a shared sticky directory (like /tmp) is refused as dataDir, naming the key, and left as it was', async (t) => {
  const dir = join(await tempDir(t), 'shared');
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  assert.throws(() => prepareDataDir(dir, pino({ level: 'silent' })), /^ConfigError: dataDir: .*shared directory \(sticky bit/);
  assert.equal(statSync(dir).mode & 0o7777, 0o1777);
});

test('a second server on the same dataDir exits 1 naming the dir and the holder pid; after kill -9 of the first, the next one starts', async (t) => {
  const dataDir = await tempDir(t);
  const first = await startServer(t, { dataDir });
  const refused = await startServer(t, { dataDir }).then(
    () => assert.fail('the second server started'),
    (err: Error) => err.message,
  );
  assert.match(refused, /server exited \(code 1,/);
  assert.ok(refused.includes(`data dir ${dataDir} is in use by another auditstream process (pid ${first.child.pid})`), refused);
  assert.equal((await postEvents(first.url, [event('d-1')])).status, 202, 'the first server is untouched');

  first.child.kill('SIGKILL');
  await first.exited;
  const next = await startServer(t, { dataDir });
  await waitFor(async () => (await allStoredEvents(next.url)).some((e) => e.id === 'd-1'), 'the acknowledged event delivered by the next server');
});

test('in one process: a second pipeline on the same dataDir, under any spelling, is refused until the first stops', async (t) => {
  const root = await tempDir(t);
  const dataDir = join(root, 'data');
  const { config } = loadConfig({ env: {}, overrides: { dataDir } });
  const logger = pino({ level: 'silent' });
  const pipeline = await Pipeline.start(config, logger);
  let stopped = false;
  t.after(() => (stopped ? undefined : pipeline.stop(100)));
  symlinkSync(dataDir, join(root, 'link'));
  for (const spelling of [dataDir, `${dataDir}/.`, join(root, 'link')]) {
    const again = loadConfig({ env: {}, overrides: { dataDir: spelling } }).config;
    await assert.rejects(Pipeline.start(again, logger), (err: unknown) => {
      assert.ok(err instanceof DataDirLockedError);
      assert.match(err.message, /is in use by this process/);
      return true;
    });
  }
  await pipeline.stop(100);
  stopped = true;
  const restarted = await Pipeline.start(config, logger);
  await restarted.stop(100);
  assert.ok(existsSync(join(dataDir, 'lock')));
});
