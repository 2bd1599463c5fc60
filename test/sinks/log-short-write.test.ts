/**
 * The log sink's writes when the kernel takes only part of them. A regular
 * file gives a short write for real once it reaches the process's file size
 * limit (RLIMIT_FSIZE; Node ignores SIGXFSZ, so the write after it fails
 * with EFBIG): the writer runs in a child process under `ulimit -f`. Where
 * the rest is resumed from is not shown here: past the limit every retry
 * fails at once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/temp.js';

const FS_UTIL = fileURLToPath(new URL('../../src/sinks/log/fs-util.ts', import.meta.url));
const LIMIT_KIB = 1024;

test('log file writes: a write the disk takes only part of is not reported as done; what did not fit fails with its error (EFBIG), and what fit is the batch\'s start, in order', async (t) => {
  const path = join(await tempDir(t), 'audit.log');
  // Two chunks of 700 KiB against a 1 MiB limit: the first writev is cut short inside the second chunk.
  const script = `
    import { open } from 'node:fs/promises';
    const { writevAll } = await import(${JSON.stringify(FS_UTIL)});
    const handle = await open(${JSON.stringify(path)}, 'w');
    try {
      await writevAll(handle, [Buffer.alloc(700 * 1024, 97), Buffer.alloc(700 * 1024, 98)]);
      console.log('written');
    } catch (err) {
      console.log('failed ' + err.code);
    } finally {
      await handle.close();
    }`;
  const child = spawnSync('bash', ['-c', `ulimit -f ${LIMIT_KIB} && exec "$0" --import tsx --input-type=module -e "$1"`, process.execPath, script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'failed EFBIG', 'the part that did not fit is an error, not a batch written');
  const written = await readFile(path);
  assert.equal(written.length, LIMIT_KIB * 1024);
  assert.ok(written.subarray(0, 700 * 1024).every((b) => b === 97), 'the first chunk whole');
  assert.ok(written.subarray(700 * 1024).every((b) => b === 98), 'then the second, from its start');
});
