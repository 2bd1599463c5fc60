import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { DEMO_MARKER, prepareDemoDir } from '../../src/demo/demo-dir.js';
import { DataDirLockedError } from '../../src/pipeline/data-dir.js';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const logger = pino({ level: 'silent' });

async function runDemo(dataDir: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'demo', '--data-dir', dataDir, '--duration', '1'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

test('demo --data-dir on a directory holding the user\'s files refuses with exit 2, naming the dir and why, and deletes nothing', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'main.ts'), 'also mine');
  const { code, out } = await runDemo(dir);
  assert.equal(code, 2, out);
  assert.ok(out.includes(`--data-dir: refusing to use ${dir}: it is not empty and was not created by the demo (no ${DEMO_MARKER} file in it)`), out);
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'src']);
  assert.equal(readFileSync(join(dir, 'src', 'main.ts'), 'utf8'), 'also mine');
});

test('demo --data-dir on a regular file refuses and leaves it alone', async (t) => {
  const file = join(await tempDir(t), 'file');
  writeFileSync(file, 'keep');
  const { code, out } = await runDemo(file);
  assert.equal(code, 2, out);
  assert.match(out, /refusing to use .*: it is not a directory/);
  assert.equal(readFileSync(file, 'utf8'), 'keep');
});

test('the demo takes a new or empty directory and marks it; its own directory is reused and emptied, keeping the marker', async (t) => {
  const root = await tempDir(t);
  const fresh = join(root, 'fresh');
  prepareDemoDir(fresh, logger).release();
  assert.deepEqual(readdirSync(fresh).sort(), [DEMO_MARKER, 'lock']);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);

  // What a previous run left: queues, a store, checkpoints.
  mkdirSync(join(fresh, 'collector', 'queues'), { recursive: true });
  writeFileSync(join(fresh, 'collector', 'audit.db'), 'old');
  const lock = prepareDemoDir(fresh, logger);
  assert.deepEqual(readdirSync(fresh).sort(), [DEMO_MARKER, 'lock']);

  // A second demo on the same directory while this one runs must not empty it under it.
  writeFileSync(join(fresh, 'running.db'), 'in use');
  assert.throws(() => prepareDemoDir(fresh, logger), DataDirLockedError);
  assert.ok(existsSync(join(fresh, 'running.db')));
  lock.release();

  const empty = join(root, 'empty');
  mkdirSync(empty);
  prepareDemoDir(empty, logger).release();
  assert.ok(existsSync(join(empty, DEMO_MARKER)));
});
