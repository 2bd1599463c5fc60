import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { keyPath } from './validate.js';

/**
 * Seed 002: "secureParams — block with parameters that will be encrypted in the
 * configuration file when the server is started". Plain values are sealed with
 * AES-256-GCM under a key kept outside the config file, and the file is
 * rewritten with `enc:v1:` values; they are opened in memory only.
 */
const PREFIX = 'enc:v1:';

export interface SecureParamRef {
  path: (string | number)[];
  value: string;
}

/** Every string value inside any `secureParams` block. */
export function findSecureParams(value: unknown, path: (string | number)[] = []): SecureParamRef[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => findSecureParams(v, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  const out: SecureParamRef[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'secureParams' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [name, secret] of Object.entries(v as Record<string, unknown>)) {
        if (typeof secret !== 'string') {
          throw new ConfigError(keyPath('', [...path, k, name]), 'a secure parameter must be a string');
        }
        out.push({ path: [...path, k, name], value: secret });
      }
    } else {
      out.push(...findSecureParams(v, [...path, k]));
    }
  }
  return out;
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function seal(plain: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

export function unseal(sealed: string, key: Buffer, where: string): string {
  const buf = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
    decipher.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new ConfigError(where, 'cannot decrypt this secure parameter: the secret key (AUDITSTREAM_SECRET_KEY or <dataDir>/secret.key) is not the one it was sealed with');
  }
}

/**
 * The sealing key: AUDITSTREAM_SECRET_KEY (base64 of 32 bytes) when set,
 * otherwise `keyFile`, created with mode 0600 on first use.
 */
export function loadSecretKey(keyFile: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.AUDITSTREAM_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new ConfigError('AUDITSTREAM_SECRET_KEY', 'must be the base64 of exactly 32 bytes');
    return key;
  }
  if (!existsSync(keyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(keyFile, 'the secret key file must hold the base64 of exactly 32 bytes');
  return key;
}
