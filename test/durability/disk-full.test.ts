import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { waitFor } from '../support/temp.js';

// A real full disk: a 6 MiB tmpfs mounted for the test (needs root, as CI and the dev machines run).
function mountSmallDisk(): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'as-smalldisk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir]);
  return r.status === 0 ? dir : null;
}

test('a full disk is reported, not a crash: ingest is refused naming it, and resumes when space is freed', async (t) => {
  const dir = mountSmallDisk();
  if (!dir) return t.skip('cannot mount a tmpfs here (not root)');
  t.after(() => {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = join(dir, 'data');
  const server = await startServer(t, { dataDir });
  // Leave little room: most of the disk is taken by a file we can delete later.
  const { bavail, bsize } = statfsSync(dir);
  writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 400 * 1024)));

  const accepted: string[] = [];
  let refusal: { status: number; body: any } | undefined;
  for (let k = 0; k < 200 && !refusal; k++) {
    const batch = Array.from({ length: 50 }, (_, i) => ({ id: `d-${k}-${i}`, type: 'login', time: '2024-01-01T00:00:00Z', message: 'x'.repeat(300) }));
    const res = await postEvents(server.url, batch);
    if (res.status === 202) accepted.push(...batch.map((e) => e.id));
    else refusal = res;
  }
  assert.ok(refusal, 'the disk filled up');
  assert.equal(refusal.status, 503, JSON.stringify(refusal.body));
  assert.match(JSON.stringify(refusal.body.failed), /disk is full|ENOSPC|SQLITE_FULL/);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server is still up');

  rmSync(join(dir, 'filler'));
  await waitFor(async () => (await postEvents(server.url, { id: 'after-space', type: 'login', time: '2024-01-01T00:00:00Z' })).status === 202, 'accepting again once there is space', 30_000);
  await waitFor(async () => {
    const s = await emitterStatus(server.url);
    return s.log!.depth === 0 && s['audit-store']!.depth === 0;
  }, 'queues drained', 60_000);
  const stored = new Set((await allStoredEvents(server.url)).map((e) => e.id));
  for (const id of [...accepted, 'after-space']) assert.ok(stored.has(id), `${id} (acknowledged) is stored`);
});
