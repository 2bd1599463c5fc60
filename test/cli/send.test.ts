import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });

test('auditstream send posts NDJSON from a file or stdin, reports rejected records and exits 1 for them', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  const file = join(dataDir, 'events.ndjson');
  const lines = [
    readFileSync(join(ROOT, 'test/fixtures/seeds/foxpass-ldap-bind.json'), 'utf8').trim(),
    '{"type":"login","time":"2024-01-01T00:00:00Z","id":"s-1"}',
    '',
    '{"not":"an event"}',
    '{"type":"logout","time":"2024-01-01T00:00:01Z","id":"s-2"}',
  ];
  writeFileSync(file, lines.join('\n') + '\n');
  const fromFile = cli(['send', file, '--url', `${server.url}/v1/events`, '--batch', '2', '--gzip']);
  assert.equal(fromFile.status, 1, fromFile.stderr);
  assert.match(fromFile.stdout, /accepted 3, rejected 1/);
  assert.match(fromFile.stderr, /rejected record \d+: type: missing/);

  const fromStdin = cli(['send', '--url', `${server.url}/v1/events`], '{"type":"login","time":"2024-01-01T00:00:02Z","id":"s-3"}\n');
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.match(fromStdin.stdout, /accepted 1, rejected 0/);

  // The server lists the first 100 rejections of a request and counts the rest: send counts them all.
  const manyBad = cli(['send', '--url', `${server.url}/v1/events`, '--batch', '1000'], '{"bad":1}\n'.repeat(150) + '{"type":"login","time":"2024-01-01T00:00:03Z","id":"s-4"}\n');
  assert.equal(manyBad.status, 1);
  assert.match(manyBad.stdout, /accepted 1, rejected 150/);
  assert.match(manyBad.stderr, /and 50 more rejected records/);

  await waitFor(() => readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').length === 5, 'five events in the log');
  const closed = await freePort();
  const down = cli(['send', '--url', `http://127.0.0.1:${closed}/v1/events`], '{"type":"login","time":"2024-01-01T00:00:02Z"}\n');
  assert.notEqual(down.status, 0);
  assert.match(down.stderr, new RegExp(`cannot reach http://127.0.0.1:${closed}/v1/events: ECONNREFUSED`));
});

test('--help describes every command and its options', () => {
  const help = cli(['--help']);
  for (const cmd of ['serve', 'send', 'emitters', 'config', 'demo', 'tail']) assert.match(help.stdout, new RegExp(`\\n\\s+${cmd}\\b`));
  assert.match(cli(['serve', '--help']).stdout, /--config <file>[\s\S]*--listen <host:port>[\s\S]*--data-dir <dir>/);
  assert.match(cli(['send', '--help']).stdout, /--url <url>/);
  const bad = cli(['config', 'check', '--config', join(ROOT, 'package.json')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /config error: .*unknown key/);
});
