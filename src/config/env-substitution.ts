import { ConfigError } from '../core/errors.js';
import { keyPath } from './validate.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::-([^}]*))?\}/g;

/** Keys whose `${name}` are the value's own syntax: a VPC flow log format string names its fields so (`${srcaddr}`). */
const OWN_SYNTAX_KEYS: ReadonlySet<string> = new Set(['vpcFlowFormat']);

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value with the
 * environment's value. Works on parsed values, not file text, so a variable
 * can never inject config syntax. A `${name}` that names a key of an enclosing
 * `secureParams` block is left for the sink (the Kafka `jaasConfig` line).
 *
 * A `secureParams` block itself is copied untouched: a secret is whatever the
 * user wrote (`pa$${HOME}ss` stays so), and what gets sealed in the file is
 * that literal text, not something the environment of one start made of it.
 * So is a key of OWN_SYNTAX_KEYS.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[] = [], secureNames: ReadonlySet<string> = new Set()): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      if (secureNames.has(name)) return whole;
      throw new ConfigError(keyPath('', path), `environment variable ${name} is not set (write \${${name}:-default} for a default)`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], secureNames));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const params = obj.secureParams;
    const names =
      params !== null && typeof params === 'object' ? new Set([...secureNames, ...Object.keys(params as object)]) : secureNames;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = k === 'secureParams' || OWN_SYNTAX_KEYS.has(k) ? v : substituteEnv(v, env, [...path, k], names);
    return out;
  }
  return value;
}
