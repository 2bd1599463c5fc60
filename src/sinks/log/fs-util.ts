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

/** A new, renamed or removed directory entry survives a crash only once its directory is fsync'd. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
