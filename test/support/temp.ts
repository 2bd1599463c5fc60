import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'auditstream-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Retries: a child (s3rver, a server) may still be finishing a write as the test ends (ENOTEMPTY).
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return dir;
}

/** Polls `condition` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(condition: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A regular file where a directory should be (`<parent>/blocked`): a log or
 * store path inside it fails to open until the test replaces it with a
 * directory. The real failure an unwritable destination gives, no mock.
 */
export function blockedDir(parent: string): string {
  const path = join(parent, 'blocked');
  writeFileSync(path, 'a file where a directory should be');
  return path;
}
