import { chmodSync, closeSync, constants, fchmodSync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Audit events name users, addresses and what they did: what auditstream keeps
 * on disk is its owner's only. Modes are set explicitly because mkdir and open
 * apply the process umask, and a umask of 022 would make everything world-readable.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` and any missing parent 0700, whatever the umask. Directories
 * that already exist are left as they are: they may be the operator's (a log
 * directory under /var/log), and inside dataDir they are reached only through
 * dataDir, which the pipeline keeps 0700. Returns the directories it created,
 * deepest first: a caller making a file durable syncs their parents too.
 */
export function makePrivateDirSync(dir: string): string[] {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const created = createdDirs(dir, first);
  for (const d of created) chmodSync(d, PRIVATE_DIR_MODE);
  return created;
}

export async function makePrivateDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const d of createdDirs(dir, first)) await chmod(d, PRIVATE_DIR_MODE);
}

/** fsync of a directory: the names created in it (files, directories) survive a power cut. */
export function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `dir` and its parents up to `first`, the topmost directory a recursive mkdir created. */
function createdDirs(dir: string, first: string | undefined): string[] {
  if (first === undefined) return [];
  const top = resolve(first);
  const dirs: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    dirs.push(d);
    if (d === top || dirname(d) === d) return dirs;
  }
}

/**
 * The mode a file should get: exactly `mode` when auditstream just created it
 * (open applied the umask), otherwise its current mode without the bits beyond
 * `mode` (a file written by an older version or under a looser umask).
 */
export function privateMode(current: number, mode: number, created: boolean): number {
  return created ? mode : current & 0o777 & mode;
}

/**
 * Creates `file` empty with exactly `mode`, or narrows an existing one; the
 * contents are never touched. An existing file is changed by path, never
 * opened: closing a descriptor drops every POSIX lock this process holds on
 * the file, and SQLite connections in this process may hold some.
 */
export function preparePrivateFile(file: string, mode = PRIVATE_FILE_MODE): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    narrowMode(file, mode);
    return;
  }
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** Removes the permission bits `file` has beyond `mode`, if it exists. */
function narrowMode(file: string, mode: number): void {
  let current: number;
  try {
    current = statSync(file).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const wanted = privateMode(current, mode, false);
  if (wanted !== current) chmodSync(file, wanted);
}

/**
 * Before better-sqlite3 opens `file`: the directory and the file are created
 * private. SQLite would create the main file 0644 minus the umask; it gives
 * its -wal, -shm and -journal files the main file's mode, so a private main
 * file makes them private too. Ones left by an older version are narrowed.
 */
export function preparePrivateDatabase(file: string): void {
  makePrivateDirSync(dirname(file));
  preparePrivateFile(file);
  for (const suffix of ['-wal', '-shm', '-journal']) narrowMode(file + suffix, PRIVATE_FILE_MODE);
}
