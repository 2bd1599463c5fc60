import Database from 'better-sqlite3';
import { chmodSync, closeSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, FatalError, errorMessage } from '../core/errors.js';
import { makePrivateDirSync, PRIVATE_DIR_MODE, preparePrivateDatabase } from '../core/private-files.js';

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Creates dataDir 0700, or narrows an existing one that others can read or
 * enter (and says so). Returns its absolute path.
 */
export function prepareDataDir(configured: string, logger: Logger): string {
  const dir = resolve(configured);
  let mode: number;
  try {
    makePrivateDirSync(dir);
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
    mode = st.mode;
  } catch (err) {
    throw new ConfigError('dataDir', `cannot use ${dir} as the data directory: ${errorMessage(err)}`);
  }
  // Narrowing /tmp (or any shared sticky directory) to 0700 would lock every other user out of it.
  if (mode & 0o1000) {
    throw new ConfigError('dataDir', `${dir} is a shared directory (sticky bit, like /tmp): give auditstream a directory of its own, e.g. ${join(dir, 'auditstream')}`);
  }
  if ((mode & 0o077) !== 0) {
    const narrowed = mode & PRIVATE_DIR_MODE;
    try {
      chmodSync(dir, narrowed);
      logger.warn({ dataDir: dir, mode: octal(mode), now: octal(narrowed) }, 'data dir was open to other users; narrowed it to owner only');
    } catch (err) {
      // A volume whose root this user does not own (a Kubernetes fsGroup mount): files inside are still 0600.
      logger.warn({ dataDir: dir, mode: octal(mode), err: errorMessage(err) }, 'data dir is open to other users and cannot be narrowed; its files are still owner-only');
    }
  }
  return dir;
}

/** Another process (or this one) already runs a pipeline on the data dir. */
export class DataDirLockedError extends FatalError {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number | undefined,
  ) {
    const holder = holderPid === process.pid ? 'this process' : holderPid ? `another auditstream process (pid ${holderPid})` : 'another auditstream process';
    super(
      `data dir ${dataDir} is in use by ${holder}: two pipelines on one data dir would deliver the same queues twice. ` +
        'Stop that one, or give this one another dataDir (--data-dir).',
      { code: 'DATA_DIR_LOCKED' },
    );
  }
}

/**
 * Data dirs locked by this process, by device and inode (whatever path names them): POSIX locks
 * belong to the process, so SQLite alone would not refuse a second Pipeline here, and reading the
 * holder's pid would close a descriptor, which drops this process's locks on the file.
 */
const heldHere = new Set<string>();

/**
 * An exclusive lock on `<dataDir>/lock`, held while the connection is open:
 * SQLite's POSIX lock, which the kernel releases when the process dies, so a
 * `kill -9` never leaves a stale lock behind. The holder's pid is written in
 * the database header (user_version, bytes 60–63), which a refused process
 * reads without taking a lock, to name the holder.
 */
export class DataDirLock {
  static readonly FILE = 'lock';

  private constructor(
    private readonly key: string,
    private db: Database.Database | undefined,
  ) {}

  static acquire(dataDir: string): DataDirLock {
    const { dev, ino } = statSync(dataDir);
    const key = `${dev}:${ino}`;
    if (heldHere.has(key)) throw new DataDirLockedError(dataDir, process.pid);
    const file = join(dataDir, DataDirLock.FILE);
    preparePrivateDatabase(file);
    const db = new Database(file, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the EXCLUSIVE lock; in this locking mode it is kept until close.
      db.pragma(`user_version = ${process.pid}`);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir, holderPid(file));
      throw err;
    }
    heldHere.add(key);
    return new DataDirLock(key, db);
  }

  release(): void {
    if (!this.db) return;
    this.db.close();
    this.db = undefined;
    heldHere.delete(this.key);
  }
}

function holderPid(file: string): number | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const header = Buffer.alloc(64);
      if (readSync(fd, header, 0, 64, 0) < 64) return undefined;
      return header.readUInt32BE(60) || undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
