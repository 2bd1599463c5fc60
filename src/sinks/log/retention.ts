import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { utcDay } from '../../core/time.js';
import { archiveNameOfTemp } from './archive.js';
import type { ArchivePattern } from './archive-pattern.js';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** Days of archives kept, counting back from today; 0 keeps all. */
  maxHistory: number;
  /** Bytes all archives together may take; 0 means no cap. */
  totalSizeCap: number;
}

/**
 * logback's TimeBasedArchiveRemover: deletes archives older than maxHistory
 * days, then, newest first, every archive past the point where the running
 * total exceeds totalSizeCap (so the oldest go first). Also removes
 * temporary archives a crash left behind: their source file still exists and
 * is archived again. Returns the paths it deleted.
 */
export async function enforceRetention(pattern: ArchivePattern, today: string, policy: RetentionPolicy): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(pattern.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const deleted: string[] = [];
  const remove = async (name: string) => {
    await unlink(join(pattern.dir, name));
    deleted.push(join(pattern.dir, name));
  };
  const archives: { name: string; day: string; size: number }[] = [];
  for (const name of names) {
    const day = pattern.dayOf(name);
    const tempFor = archiveNameOfTemp(name);
    if (day !== undefined) {
      archives.push({ name, day, size: (await stat(join(pattern.dir, name))).size });
    } else if (tempFor !== undefined && pattern.dayOf(tempFor) !== undefined) {
      await remove(name);
    }
  }
  archives.sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0));
  const oldestKept = policy.maxHistory > 0 ? utcDay(new Date(Date.parse(`${today}T00:00:00Z`) - policy.maxHistory * DAY_MS)) : '';
  let total = 0;
  let capReached = false;
  for (const a of archives) {
    total += a.size;
    // Once the cap is crossed, this archive and every older one go, even a
    // smaller older one that would still fit: the oldest are deleted first.
    if (policy.totalSizeCap > 0 && total > policy.totalSizeCap) capReached = true;
    if (capReached || a.day < oldestKept) await remove(a.name);
  }
  return deleted;
}
