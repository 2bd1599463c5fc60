import { lstatSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors.js';
import { preparePrivateFile } from '../core/private-files.js';
import { DataDirLock, prepareDataDir } from '../pipeline/data-dir.js';

/** Written into a directory the demo made its own: only such a directory is ever emptied. */
export const DEMO_MARKER = '.auditstream-demo';

const MARKER_TEXT = 'This directory belongs to `auditstream demo`, which empties it at every start.\nWithout this file the demo refuses to touch it.\n';

/**
 * Makes `dir` the demo's, empty but for its marker and lock: a directory that
 * does not exist or is empty is taken (and marked), one with the marker is
 * emptied (the emulator starts empty each run, so old checkpoints would point
 * at records that no longer exist), anything else is refused before a single
 * file is deleted. The returned lock keeps a second demo from emptying the
 * directory under this one; release it when the demo stops.
 */
export function prepareDemoDir(dirOption: string, logger: Logger): DataDirLock {
  const dir = resolve(dirOption);
  const entries = listOrNothing(dir);
  if (entries.length > 0 && !isFile(join(dir, DEMO_MARKER))) {
    throw new ConfigError(
      '--data-dir',
      `refusing to use ${dir}: it is not empty and was not created by the demo (no ${DEMO_MARKER} file in it), ` +
        'and the demo empties its data dir at every start. Give a new or empty directory.',
    );
  }
  prepareDataDir(dir, logger);
  const marker = join(dir, DEMO_MARKER);
  if (!entries.includes(DEMO_MARKER)) {
    preparePrivateFile(marker);
    writeFileSync(marker, MARKER_TEXT);
  }
  const lock = DataDirLock.acquire(dir);
  for (const entry of readdirSync(dir)) {
    if (entry !== DEMO_MARKER && entry !== DataDirLock.FILE) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  return lock;
}

function listOrNothing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new ConfigError('--data-dir', `refusing to use ${dir}: it is not a directory`);
    throw err;
  }
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
