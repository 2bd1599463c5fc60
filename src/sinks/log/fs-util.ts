import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

/** FileHandle.write may write less than asked; loop until every byte is on its way. */
export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Writes `chunks` in order at the file's position with writev. libuv splits
 * them into calls of at most IOV_MAX buffers and resumes a short write
 * itself; a total it reports short means a call failed part way, and writing
 * the rest again names the error (ENOSPC, EIO). A crash between two of those
 * calls leaves the first part on disk (the log sink is at least once).
 */
export async function writevAll(handle: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  let rest = chunks;
  for (;;) {
    let total = 0;
    for (const chunk of rest) total += chunk.length;
    if (total === 0) return;
    const { bytesWritten } = await handle.writev(rest as Uint8Array[]);
    if (bytesWritten === total) return;
    if (bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    rest = [Buffer.concat(rest).subarray(bytesWritten)];
  }
}

/** A new, renamed or removed directory entry survives a crash only once its directory is fsync'd. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
