import type { ZodType } from 'zod';
import { ConfigError, throwConfigErrors } from '../core/errors.js';

/**
 * A problem found under some part of the config, its path relative to that
 * part (the shape of a zod issue). Whoever knows where the part stands turns
 * it into a ConfigError with the full key path.
 */
export interface ConfigIssue {
  path: readonly PropertyKey[];
  message: string;
}

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

/** One ConfigError per issue, each under `prefix`; an unknown key is named by its own path. */
export function configErrors(prefix: string, issues: readonly (ConfigIssue & { code?: string; keys?: readonly string[] })[]): ConfigError[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' && issue.keys
      ? issue.keys.map((key) => new ConfigError(keyPath(prefix, [...issue.path, key]), 'unknown key'))
      : [new ConfigError(keyPath(prefix, issue.path), issue.message)],
  );
}

/** Parses `value` with `schema`; on failure adds every issue to `errors` and returns undefined. */
export function checkConfig<T>(schema: ZodType<T>, value: unknown, prefix: string, errors: ConfigError[]): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  errors.push(...configErrors(prefix, result.error.issues));
  return undefined;
}

/** Parses `value` with `schema`; on failure throws naming every bad key (ConfigErrors for several). */
export function parseConfig<T>(schema: ZodType<T>, value: unknown, prefix: string): T {
  const errors: ConfigError[] = [];
  const parsed = checkConfig(schema, value, prefix, errors);
  throwConfigErrors(errors);
  return parsed as T;
}
