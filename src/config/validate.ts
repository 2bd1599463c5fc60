import type { ZodType } from 'zod';
import { ConfigError } from '../core/errors.js';

/** Renders a zod issue path as the config key a user would write: `audit.emitters[2].include[0]`. */
export function keyPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    // Kafka property names contain dots: tuning["linger.ms"], not tuning.linger.ms.
    else if (!/^[A-Za-z_$][\w$-]*$/.test(String(part))) out += `[${JSON.stringify(String(part))}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Parses `value` with `schema`; on failure throws a ConfigError naming the first bad key. */
export function parseConfig<T>(schema: ZodType<T>, value: unknown, prefix: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let path = keyPath(prefix, issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    path = keyPath(path, keys.length === 1 ? [keys[0]!] : []);
    message = keys.length === 1 ? 'unknown key' : `unknown keys ${keys.join(', ')}`;
  }
  throw new ConfigError(path, message);
}
