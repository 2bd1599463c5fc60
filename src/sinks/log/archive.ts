import { createReadStream } from 'node:fs';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { makePrivateDir } from '../../core/private-files.js';
import { fsyncDir, writeAll } from './fs-util.js';

/** Where an archive is assembled before it is renamed into place. */
function archiveTempName(archiveName: string): string {
  return `.${archiveName}.tmp`;
}

/** The archive a temporary file was being assembled for, if `name` is one. */
export function archiveNameOfTemp(name: string): string | undefined {
  return name.startsWith('.') && name.endsWith('.tmp') ? name.slice(1, -'.tmp'.length) : undefined;
}

/**
 * Moves `source` into the archive `target`, gzip-compressed when `gzip`.
 * The archive is written under a temporary name, fsync'd, then renamed, and
 * only then is the source removed: a crash at any point leaves either the
 * source or a complete archive, never a half-written archive as the only copy.
 * If the archive already exists (the same day rolled twice, e.g. after the
 * clock was set back), the new content is appended to it — as a second gzip
 * member, which gunzip reads as one stream — rather than overwriting it.
 */
export async function archiveFile(source: string, target: string, gzip: boolean, mode: number): Promise<void> {
  const dir = dirname(target);
  await makePrivateDir(dir);
  const tmp = join(dir, archiveTempName(basename(target)));
  const out = await open(tmp, 'w', mode);
  try {
    // open applied the umask (or found a temp file left by a crash): the archive gets `mode` exactly.
    await out.chmod(mode);
    const sink = async (chunks: AsyncIterable<Uint8Array>) => {
      for await (const chunk of chunks) await writeAll(out, chunk);
    };
    await copyExisting(target, sink);
    if (gzip) await pipeline(createReadStream(source), createGzip(), sink);
    else await pipeline(createReadStream(source), sink);
    await out.datasync();
    await out.close();
    await rename(tmp, target);
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
  await unlink(source);
  await fsyncDir(dirname(source));
}

async function copyExisting(path: string, sink: (chunks: AsyncIterable<Uint8Array>) => Promise<void>): Promise<void> {
  try {
    await pipeline(createReadStream(path), sink);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
