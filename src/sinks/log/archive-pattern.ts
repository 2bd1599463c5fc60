import { basename, dirname } from 'node:path';
import { ConfigError } from '../../core/errors.js';

/**
 * logback's TimeBasedRollingPolicy `fileNamePattern`, restricted to what daily
 * rollover needs: one `%d{yyyy-MM-dd}` (or bare `%d`, logback's default) in
 * the file name, and `.gz` at the end to compress.
 */
export interface ArchivePattern {
  dir: string;
  gzip: boolean;
  nameFor(day: string): string;
  /** The day an archive file name stands for, or undefined when the name is not one of ours. */
  dayOf(name: string): string | undefined;
}

const DAY_TOKEN = /%d(?:\{yyyy-MM-dd\})?(?![{A-Za-z])/;

/** `path` is absolute. Throws ConfigError (key `archivePattern`). */
export function parseArchivePattern(path: string): ArchivePattern {
  const dir = dirname(path);
  const name = basename(path);
  if (dir.includes('%')) throw new ConfigError('archivePattern', `"${path}": the date may appear only in the file name, not in its directory`);
  const m = DAY_TOKEN.exec(name);
  if (!m) throw new ConfigError('archivePattern', `"${path}" must contain %d{yyyy-MM-dd}: archives roll daily`);
  const prefix = name.slice(0, m.index);
  const suffix = name.slice(m.index + m[0].length);
  if (prefix.includes('%') || suffix.includes('%')) {
    throw new ConfigError('archivePattern', `"${path}": only one %d{yyyy-MM-dd} is supported (no %i, no other date formats)`);
  }
  if (suffix.endsWith('.zip')) throw new ConfigError('archivePattern', `"${path}": .zip is not supported; end the pattern with .gz to compress`);
  const dayRe = new RegExp(`^${escapeRe(prefix)}(\\d{4}-\\d{2}-\\d{2})${escapeRe(suffix)}$`);
  return {
    dir,
    gzip: suffix.endsWith('.gz'),
    nameFor: (day) => `${prefix}${day}${suffix}`,
    dayOf: (n) => dayRe.exec(n)?.[1],
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
