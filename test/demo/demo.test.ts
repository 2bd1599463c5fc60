import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { tempDir, waitFor } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0).flatMap((c) => [c, ...descendants(c)]);
}

test('auditstream demo: events flow publisher → Kinesis → collector → store within a minute; Ctrl-C leaves no process behind', async (t) => {
  const dataDir = await tempDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'demo', '--data-dir', join(dataDir, 'demo'), '--rate', '40'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');

  const collected = await waitFor(() => {
    const counts = [...out.matchAll(/collected (\d+) into the audit store/g)].map((m) => Number(m[1]));
    return counts.find((n) => n > 0);
  }, `events in the collector's store; output so far:\n${out}`, 60_000);
  assert.ok(collected > 0);
  assert.match(out, /publisher\s+POST http:\/\/127\.0\.0\.1:\d+\/v1\/events/);
  const collectorUrl = /collector\s+GET\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  const page = (await (await fetch(`${collectorUrl}/v1/events?limit=50`)).json()) as { events: { source: string }[] };
  const sources = new Set(page.events.map((e) => e.source));
  assert.ok(sources.size >= 2, `events of several seed formats were collected: ${[...sources].join(', ')}`);
  const helpers = descendants(child.pid!);
  assert.ok(helpers.length >= 1, 'the demo started its emulator as a child process');

  child.kill('SIGINT');
  const [code] = await exited;
  assert.equal(code, 0, out);
  assert.match(out, /demo stopped: published \d+, collected \d+/);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim().startsWith('Z') === false;
    } catch {
      return false;
    }
  };
  await waitFor(() => helpers.every((pid) => !alive(pid)), `processes started by the demo gone: ${helpers.filter(alive).join(', ')}`, 10_000);
});
