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

/** Most buffers one writev takes (IOV_MAX on Linux and macOS). */
const MAX_IOVECS = 1024;

/**
 * Writes `chunks` in order at the file's position, with writev (up to
 * MAX_IOVECS chunks a call); a short write resumes where it stopped.
 */
export async function writevAll(handle: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  let i = 0;
  // Bytes of chunks[i] already written.
  let skip = 0;
  while (i < chunks.length) {
    const batch: Uint8Array[] = [];
    for (let k = i; k < chunks.length && batch.length < MAX_IOVECS; k++) batch.push(k === i && skip > 0 ? chunks[k]!.subarray(skip) : chunks[k]!);
    let { bytesWritten } = await handle.writev(batch);
    if (bytesWritten === 0 && batch.some((b) => b.length > 0)) throw Object.assign(new Error('short write'), { code: 'EIO' });
    while (i < chunks.length && bytesWritten >= chunks[i]!.length - skip) {
      bytesWritten -= chunks[i]!.length - skip;
      skip = 0;
      i += 1;
    }
    skip += bytesWritten;
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
