import { chmodSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, errorMessage } from '../core/errors.js';
import { makePrivateDirSync, PRIVATE_DIR_MODE } from '../core/private-files.js';

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
