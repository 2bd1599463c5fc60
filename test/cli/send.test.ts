import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { freePort } from '../support/free-port.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });

test('auditstream send posts NDJSON from a file or stdin, names rejected records by their line in the input and exits 1 for them', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  const file = join(dataDir, 'events.ndjson');
  const lines = [
    readFileSync(join(ROOT, 'test/fixtures/seeds/foxpass-ldap-bind.json'), 'utf8').trim(),
    '{"type":"login","time":"2024-01-01T00:00:00Z","id":"s-1"}',
    '',
    '{"not":"an event"}',
    '{"type":"logout","time":"2024-01-01T00:00:01Z","id":"s-2"}',
    'not json',
  ];
  writeFileSync(file, lines.join('\n') + '\n');
  // --url is the base URL, as for every command that calls the server.
  const fromFile = cli(['send', file, '--url', server.url, '--batch', '2', '--gzip']);
  assert.equal(fromFile.status, 1, fromFile.stderr);
  assert.match(fromFile.stdout, /accepted 3, rejected 2, not acknowledged 0/);
  // Lines 4 and 6 of the file, in the second and third request: numbered in the file, not per request.
  assert.match(fromFile.stderr, /events\.ndjson:4: rejected: type: missing/);
  assert.match(fromFile.stderr, /events\.ndjson:6: rejected: not JSON/);

  const fromStdin = cli(['send', '--url', server.url], '{"type":"login","time":"2024-01-01T00:00:02Z","id":"s-3"}\n');
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.match(fromStdin.stdout, /accepted 1, rejected 0, not acknowledged 0/);

  // The server lists the first 100 rejections of a request and counts the rest: send counts them all.
  const manyBad = cli(['send', '--url', server.url, '--batch', '1000'], '{"bad":1}\n'.repeat(150) + '{"type":"login","time":"2024-01-01T00:00:03Z","id":"s-4"}\n');
  assert.equal(manyBad.status, 1);
  assert.match(manyBad.stdout, /accepted 1, rejected 150\b/);
  assert.match(manyBad.stderr, /stdin:100: rejected: type: missing/);
  assert.match(manyBad.stderr, /and 50 more rejected records in lines 1–151/);

  await waitFor(() => readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').length === 5, 'five events in the log');
  const closed = await freePort();
  const down = cli(['send', '--url', `http://127.0.0.1:${closed}`], '{"type":"login","time":"2024-01-01T00:00:02Z"}\n');
  assert.equal(down.status, 1);
  assert.match(down.stderr, new RegExp(`cannot reach http://127.0.0.1:${closed}/v1/events: ECONNREFUSED`));
  assert.match(down.stdout, /accepted 0, rejected 0, not acknowledged 1\b/);

  const endpoint = cli(['send', '--url', `${server.url}/v1/events`], '{}\n');
  assert.equal(endpoint.status, 2);
  assert.match(endpoint.stderr, /config error: --url: .* names an API path; give the server's base URL/);
});

test('auditstream send reads a pretty-printed JSON document and a JSON array as well as NDJSON, naming the line each rejected element starts on', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  // The README's own fixture: one pretty-printed document over 20 lines, which was 20 "not JSON" errors as NDJSON.
  const pretty = cli(['send', join(ROOT, 'test/fixtures/seeds/temporal-delete-user.json'), '--url', server.url]);
  assert.equal(pretty.status, 0, pretty.stderr);
  assert.match(pretty.stdout, /accepted 1, rejected 0, not acknowledged 0/);

  const array = join(dataDir, 'events.json');
  writeFileSync(
    array,
    [
      '[',
      '  {"type": "login", "time": "2024-01-01T00:00:00Z", "id": "arr-1"},',
      '  {',
      '    "note": "brackets in strings do not end an element: ]}\\"[{",',
      '    "time": "2024-01-01T00:00:01Z"',
      '  },',
      '',
      '  {"type": "logout", "time": "2024-01-01T00:00:02Z", "id": "arr-3"}',
      ']',
    ].join('\n'),
  );
  // Batches of 1: the third element is in the third request and is still named by its line.
  const run = cli(['send', array, '--url', server.url, '--batch', '1', '--progress']);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stdout, /accepted 2, rejected 1, not acknowledged 0/);
  assert.match(run.stderr, /events\.json:3: rejected: type: missing/);
  assert.match(run.stderr, /sent 3\/3 records · accepted 2 · rejected 1/, 'progress on stderr when asked for, though not a terminal');
  assert.doesNotMatch(pretty.stderr, /sent \d+/, 'no progress unless asked for or on a terminal');

  const page = await waitFor(async () => {
    const p = (await (await fetch(`${server.url}/v1/events?limit=10`)).json()) as { events: { id: string }[] };
    return p.events.length === 3 ? p : undefined;
  }, 'three events in the store');
  assert.deepEqual(page.events.map((e) => e.id).filter((id) => id.startsWith('arr-')).sort(), ['arr-1', 'arr-3']);

  const broken = join(dataDir, 'broken.json');
  writeFileSync(broken, '[\n  {"type": "login"},\n');
  const refused = cli(['send', broken, '--url', server.url]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /broken\.json starts with "\[" but is not a JSON array/);
});

/**
 * A stand-in in front of the real server: it answers the requests listed in
 * `answers` itself (429 or 503 with Retry-After) and forwards every other one.
 * The real server answers 429 only when a queue is full and 503 only when
 * an emitter fails the delivery policy; the stand-in forces either status
 * deterministically, at a chosen request.
 */
async function standIn(t: TestContext, target: string, answers: (n: number) => { status: number; retryAfter?: string } | undefined) {
  const bodies: string[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body.toString());
      const answer = answers(bodies.length);
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.retryAfter !== undefined ? { 'retry-after': answer.retryAfter } : {}) });
        res.end(JSON.stringify({ error: answer.status === 429 ? 'queue full for emitter(s) log' : 'delivery policy not met', code: 'STAND_IN', rejected: [], rejectedTotal: 0 }));
        return;
      }
      void fetch(`${target}${req.url}`, { method: req.method!, headers: { 'content-type': req.headers['content-type']! }, body }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(await r.text());
      });
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.after(() => srv.close());
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, bodies };
}

/** The CLI without blocking this process, which runs the stand-in. */
async function cliAsync(args: string[], input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

const event = (i: number) => `{"type":"login","time":"2024-01-01T00:00:00Z","id":"r-${i}"}`;

test('auditstream send retries 429 and 503 after their Retry-After and then reports the lines never acknowledged, exit 1', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  const input = [1, 2, 3, 4, 5].map(event).join('\n') + '\n';

  // Request 2 (lines 3–4) is answered 429, its retry 503: the third try is forwarded, and nothing is lost.
  const flaky = await standIn(t, server.url, (n) => (n === 2 ? { status: 429, retryAfter: '1' } : n === 3 ? { status: 503, retryAfter: '0' } : undefined));
  const run = await cliAsync(['send', '--url', flaky.url, '--batch', '2'], input);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /accepted 5, rejected 0, not acknowledged 0/);
  assert.match(run.stderr, /HTTP 429 for lines 3–4 \(queue full for emitter\(s\) log\); retry 1 of 5 in 1\.0 s/, 'waits what Retry-After says');
  assert.match(run.stderr, /HTTP 503 for lines 3–4 \(delivery policy not met\); retry 2 of 5 in 0\.0 s/);
  assert.equal(flaky.bodies.length, 5);
  assert.equal(flaky.bodies[1], flaky.bodies[2]);
  assert.equal(flaky.bodies[2], flaky.bodies[3], 'the same request, whole, every time');
  await waitFor(() => readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').length === 5, 'all five events delivered');

  // From request 2 on, the queue stays full: two retries, then lines 3–5 are reported, the rest of the input unsent.
  const full = await standIn(t, server.url, (n) => (n >= 2 ? { status: 429, retryAfter: '0' } : undefined));
  const given = await cliAsync(['send', '--url', full.url, '--batch', '2', '--retries', '2'], input);
  assert.equal(given.status, 1, given.stderr);
  assert.match(given.stdout, /accepted 2, rejected 0, not acknowledged 3\b/);
  assert.match(given.stderr, /HTTP 429 from http:\/\/127\.0\.0\.1:\d+\/v1\/events: queue full for emitter\(s\) log after 3 attempts/);
  assert.match(given.stderr, /not acknowledged: 3 record\(s\), lines 3–5/);
  assert.equal(full.bodies.length, 4, 'one forwarded request and three tries of the second; the third batch is never sent');
});
test('--help describes every command and its options', () => {
  const help = cli(['--help']);
  for (const cmd of ['serve', 'send', 'emitters', 'config', 'demo', 'tail']) assert.match(help.stdout, new RegExp(`\\n\\s+${cmd}\\b`));
  assert.match(cli(['serve', '--help']).stdout, /--config <file>[\s\S]*--listen <host:port>[\s\S]*--data-dir <dir>/);
  assert.match(cli(['send', '--help']).stdout, /--url <url>[\s\S]*--api-key <key>[\s\S]*--retries <n>[\s\S]*--progress/);
  assert.match(cli(['emitters', 'list', '--help']).stdout, /--url <url>[\s\S]*--api-key <key>/);
  assert.match(cli(['config', 'check', '--help']).stdout, /Exit status:[\s\S]*\n  2  the config is not/);
  const bad = cli(['config', 'check', '--config', join(ROOT, 'package.json')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /config error: .*unknown key/);
});
