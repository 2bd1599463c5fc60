import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { Serial } from '../../core/async.js';
import { RetriableError } from '../../core/errors.js';
import { makePrivateDir, privateMode } from '../../core/private-files.js';
import { utcDay } from '../../core/time.js';
import { archiveFile } from './archive.js';
import type { ArchivePattern } from './archive-pattern.js';
import { fileError } from './file-error.js';
import { fsyncDir, writevAll } from './fs-util.js';
import { enforceRetention, type RetentionPolicy } from './retention.js';

/**
 * Audit logs name users and addresses: readable by the owner's group (a log
 * shipper), not by everyone. Set whatever the umask; directories auditstream
 * creates for them are 0700.
 */
export const LOG_FILE_MODE = 0o640;

/**
 * Opens a log file for appending, creating it with exactly LOG_FILE_MODE;
 * an existing file with more permissions than that is narrowed to it.
 */
export async function openLogFile(file: string, flags: 'a' | 'a+'): Promise<FileHandle> {
  let created = true;
  let handle: FileHandle;
  try {
    handle = await open(file, flags === 'a' ? 'ax' : 'ax+', LOG_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    created = false;
    handle = await open(file, flags, LOG_FILE_MODE);
  }
  try {
    const current = (await handle.stat()).mode & 0o777;
    const wanted = privateMode(current, LOG_FILE_MODE, created);
    if (wanted !== current) await handle.chmod(wanted);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  return handle;
}

export interface RollingFileOptions {
  /** Absolute path of the active file. */
  file: string;
  archive: ArchivePattern;
  retention: RetentionPolicy;
  /** fdatasync after every append, so that an acknowledged line survives a crash. */
  fsync: boolean;
  /** The clock that decides the day of a write; injectable so tests can cross midnight. */
  now: () => Date;
  logger: Logger;
}

const NEWLINE = Buffer.from('\n');

/**
 * logback's RollingFileAppender with a daily TimeBasedRollingPolicy: one
 * active file holding the lines written on one UTC day; the first write of a
 * later day archives it (see archive.ts) and starts a fresh one. One writer
 * per file: two RollingFiles on the same path would archive each other's data.
 */
export class RollingFile {
  private handle: FileHandle | undefined;
  private identity: { dev: number; ino: number } | undefined;
  /** The UTC day the lines in the active file were written on. */
  private day = '';
  /** The file ends in a torn line (a crash or failed write): start the next write on a new line. */
  private needsNewline = false;
  private retentionChecked = false;
  private readonly serial = new Serial();

  constructor(private readonly opts: RollingFileOptions) {}

  /**
   * Appends whole lines with writev (several calls above IOV_MAX buffers),
   * then (fsync: true) fdatasync: when the promise resolves the lines are on
   * disk. Calls run one at a time.
   */
  append(lines: readonly Uint8Array[]): Promise<void> {
    return this.serial.run(() => this.appendNow(lines));
  }

  close(): Promise<void> {
    return this.serial.run(() => this.closeHandle());
  }

  private async appendNow(lines: readonly Uint8Array[]): Promise<void> {
    const today = utcDay(this.opts.now());
    let size = await this.ensureOpen(today);
    if (today > this.day) {
      if (size > 0) {
        await this.closeHandle();
        await this.archive(this.day, today);
        size = await this.ensureOpen(today);
      }
      this.day = today;
    }
    const handle = this.handle!;
    const data = this.needsNewline ? [NEWLINE, ...lines] : lines;
    try {
      await writevAll(handle, data);
      if (this.opts.fsync) await handle.datasync();
    } catch (err) {
      await this.undoPartialWrite(size);
      throw fileError(err, 'append to', this.opts.file);
    }
    this.needsNewline = false;
  }

  /**
   * Opens the active file unless the open handle still is it (someone may
   * have moved or deleted it: then a new one is created). A non-empty file
   * last modified before today is archived first, as logback does at start.
   * Returns the file's size.
   */
  private async ensureOpen(today: string): Promise<number> {
    const { file } = this.opts;
    const current = await this.statFile();
    if (this.handle) {
      if (current && current.dev === this.identity!.dev && current.ino === this.identity!.ino) return current.size;
      this.opts.logger.warn({ file }, 'log file was moved or removed by someone else; starting a new one');
      await this.closeHandle();
    }
    const dir = dirname(file);
    try {
      await makePrivateDir(dir);
    } catch (err) {
      throw fileError(err, 'create directory', dir);
    }
    let existing = current;
    if (existing && !existing.isFile()) {
      throw new RetriableError(`log sink: ${file} is not a regular file`, { code: 'LOG_NOT_A_FILE' });
    }
    if (existing && existing.size > 0 && utcDay(existing.mtime) < today) {
      await this.archive(utcDay(existing.mtime), today);
      existing = undefined;
    }
    let handle: FileHandle;
    try {
      handle = await openLogFile(file, 'a+');
    } catch (err) {
      throw fileError(err, 'open', file);
    }
    let st: Stats;
    try {
      if (!existing) await fsyncDir(dir);
      st = await handle.stat();
      this.needsNewline = st.size > 0 && !(await endsWithNewline(handle, st.size));
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw fileError(err, 'open', file);
    }
    this.handle = handle;
    this.identity = { dev: st.dev, ino: st.ino };
    this.day = st.size > 0 ? utcDay(st.mtime) : today;
    if (!this.retentionChecked) await this.applyRetention(today);
    return st.size;
  }

  private async statFile(): Promise<Stats | undefined> {
    try {
      return await stat(this.opts.file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw fileError(err, 'stat', this.opts.file);
    }
  }

  private async archive(day: string, today: string): Promise<void> {
    const { file, archive, logger } = this.opts;
    const target = join(archive.dir, archive.nameFor(day));
    try {
      await archiveFile(file, target, archive.gzip, LOG_FILE_MODE);
    } catch (err) {
      throw fileError(err, `archive ${file} to`, target);
    }
    logger.info({ file, archive: target }, 'rolled log file');
    await this.applyRetention(today);
  }

  /** Retention is housekeeping: a failure is logged and never holds up delivery. */
  private async applyRetention(today: string): Promise<void> {
    this.retentionChecked = true;
    try {
      const deleted = await enforceRetention(this.opts.archive, today, this.opts.retention);
      if (deleted.length > 0) this.opts.logger.info({ deleted }, 'deleted archives past maxHistory / totalSizeCap');
    } catch (err) {
      this.opts.logger.warn({ err, dir: this.opts.archive.dir }, 'cannot apply archive retention');
    }
  }

  /**
   * A failed write (disk full) may have left part of the batch: cut it off so
   * the retried batch does not follow a torn line. If even that fails, the
   * handle is dropped and the next open starts on a fresh line.
   */
  private async undoPartialWrite(size: number): Promise<void> {
    try {
      await this.handle!.truncate(size);
    } catch {
      await this.closeHandle();
    }
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.identity = undefined;
    await handle?.close();
  }
}

async function endsWithNewline(handle: FileHandle, size: number): Promise<boolean> {
  const buf = Buffer.alloc(1);
  await handle.read(buf, 0, 1, size - 1);
  return buf[0] === 0x0a;
}
