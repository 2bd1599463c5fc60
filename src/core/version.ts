import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The version in auditstream's own package.json, read at run time so that a
 * release changes one place. package.json is two levels up from both
 * src/core/ (run through tsx) and dist/core/ (the installed package).
 */
export function packageVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string' || pkg.version === '') {
    throw new Error(`${fileURLToPath(url)} has no "version" string`);
  }
  return pkg.version;
}
