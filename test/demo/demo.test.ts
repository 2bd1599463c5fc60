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

/** A printed command, run by a shell as a user would paste it, from the directory the demo was started in. */
async function sh(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('sh', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

test('auditstream demo: events flow publisher → Kinesis → collector → store within a minute; every printed command works as printed; the counts are explained; Ctrl-C leaves no process behind', async (t) => {
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
  assert.ok(sources.size >= 2, `events of several producer formats were collected: ${[...sources].join(', ')}`);

  // Every command the demo prints works as printed: no AWS credentials, region or checkout-relative path assumed.
  const commands = [...out.matchAll(/^ {2}\$ (.+)$/gm)].map((m) => m[1]!);
  assert.ok(commands.some((c) => / tail --stream /.test(c)) && commands.some((c) => / send --url /.test(c)), out);
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, AWS_REGION: _region, AWS_DEFAULT_REGION: _default, AWS_PROFILE: _profile, ...bare } = process.env;
  const hasAws = spawnSync('sh', ['-c', 'command -v aws'], { env: bare }).status === 0;
  for (const command of commands) {
    if (/^\S+ \S+ aws /.test(command) && !hasAws) {
      t.diagnostic(`not run: the AWS CLI is not installed here: ${command}`);
      continue;
    }
    const run = await sh(command, bare);
    assert.equal(run.code, 0, `${command}\n${run.stdout}${run.stderr}`);
    assert.notEqual(run.stdout.trim(), '', `${command} printed something`);
    if (/ tail --stream /.test(command)) assert.equal(run.stdout.trim().split('\n').length, 5, 'tail --limit 5 printed five records');
  }
  assert.match(out, /The difference is in flight — queued at the publisher,\s+on the stream, or being read — not lost/);
  assert.match(out, /collected \d+ into the audit store · \d+ in flight \(\d+ queued at the publisher, \d+ on the stream or being read\)/);
  const helpers = descendants(child.pid!);
  assert.ok(helpers.length >= 1, 'the demo started its emulator as a child process');

  child.kill('SIGINT');
  const [code] = await exited;
  assert.equal(code, 0, out);
  // The last count says what any difference means.
  assert.match(out, /demo stopped: published \d+, collected \d+: (every published event was collected|the other \d+ were in flight, not lost — \d+ still in the publisher's queue on disk, \d+ on the emulated stream)/);
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
