import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { startServer } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const KEY = 'emitters-list-test-key-0123456789';

/** The real CLI; AUDITSTREAM_API_KEY is only what `env` says, never inherited from whoever runs the tests. */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { AUDITSTREAM_API_KEY: _inherited, ...base } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input ?? '');
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

test('emitters list and send against a keyed server: --url is the base URL, the key from --api-key or AUDITSTREAM_API_KEY; without it, a wrong one, or no server, exit 1 saying why', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { apiKeys: [KEY] } } });

  const event = '{"type":"login","time":"2024-01-01T00:00:00Z","id":"k-1"}\n';
  const [noKey, wrongKey, flag, env, down, endpoint, sendNoKey, sendKey] = await Promise.all([
    cli(['emitters', 'list', '--url', server.url]),
    cli(['emitters', 'list', '--url', server.url], { AUDITSTREAM_API_KEY: 'not-the-key-of-this-server' }),
    cli(['emitters', 'list', '--url', server.url, '--api-key', KEY]),
    cli(['emitters', 'list', '--url', server.url], { AUDITSTREAM_API_KEY: KEY }),
    freePort().then((port) => cli(['emitters', 'list', '--url', `http://127.0.0.1:${port}`, '--api-key', KEY])),
    cli(['emitters', 'list', '--url', `${server.url}/v1/emitters`, '--api-key', KEY]),
    cli(['send', '--url', server.url], {}, event),
    cli(['send', '--url', server.url], { AUDITSTREAM_API_KEY: KEY }, event),
  ]);

  assert.equal(noKey.status, 1, noKey.stdout);
  assert.equal(noKey.stdout, '', 'an error answer is not printed as the list');
  assert.match(noKey.stderr, /HTTP 401 from .*\/v1\/emitters: the server needs an API key .*pass --api-key or set AUDITSTREAM_API_KEY/);
  assert.equal(wrongKey.status, 1);
  assert.match(wrongKey.stderr, /HTTP 401 .*the server refused the API key/);

  for (const ok of [flag, env]) {
    assert.equal(ok.status, 0, ok.stderr);
    const listed = JSON.parse(ok.stdout) as { emitters: { name: string; state: string; queueDepth?: number }[] };
    assert.deepEqual(listed.emitters.map((e) => e.name).sort(), ['audit-store', 'log']);
  }

  assert.equal(down.status, 1);
  assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/emitters: ECONNREFUSED/);
  assert.equal(sendNoKey.status, 1);
  assert.match(sendNoKey.stderr, /HTTP 401 .*needs an API key/);
  assert.match(sendNoKey.stdout, /accepted 0, rejected 0, not acknowledged 1\b/);
  assert.equal(sendKey.status, 0, sendKey.stderr);
  assert.match(sendKey.stdout, /accepted 1, rejected 0, not acknowledged 0/);

  // --url means the same for every command: the base URL, never an endpoint.
  assert.equal(endpoint.status, 2);
  assert.match(endpoint.stderr, /config error: --url: .* names an API path/);
});
