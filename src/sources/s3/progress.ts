import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** How far an S3 source got. Survives restarts; written atomically (temp file, fsync, rename, fsync dir). */
export interface S3Progress {
  /** The last key whose every event was acknowledged (listing resumes after it). */
  lastKey?: string;
  /** An object part-way through: the first `acked` events of this version were acknowledged. */
  partial?: { key: string; etag: string; acked: number };
}

export function readProgress(file: string): S3Progress {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  return JSON.parse(text) as S3Progress;
}

export function writeProgress(file: string, progress: S3Progress): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(progress));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself is durable only once the directory entry is flushed.
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
