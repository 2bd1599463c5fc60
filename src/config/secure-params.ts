import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML, { isScalar, Scalar } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { keyPath } from './validate.js';

/**
 * As in Blitz Identity Provider, `secureParams` values are encrypted inside the
 * configuration file when the server starts. Plain values are sealed with
 * AES-256-GCM under a key kept outside the config file, and the file is
 * rewritten with `enc:v1:` values; they are opened in memory only.
 */
const PREFIX = 'enc:v1:';

export type KeyPath = (string | number)[];

export interface SecureParamRef {
  path: KeyPath;
  value: string;
}

/** Every string value inside any `secureParams` block. */
export function findSecureParams(value: unknown, path: KeyPath = []): SecureParamRef[] {
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

export function secretKeyFile(dataDir: string): string {
  return join(resolve(dataDir), 'secret.key');
}

/**
 * The sealing key: AUDITSTREAM_SECRET_KEY (base64 of 32 bytes) when set,
 * otherwise `keyFile`; undefined when neither exists. Never creates anything:
 * a key made up now could not open values sealed before.
 */
export function readSecretKey(keyFile: string, env: NodeJS.ProcessEnv): Buffer | undefined {
  const fromEnv = env.AUDITSTREAM_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new ConfigError('AUDITSTREAM_SECRET_KEY', 'must be the base64 of exactly 32 bytes');
    return key;
  }
  let text: string;
  try {
    text = readFileSync(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('', `cannot read the secret key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new ConfigError('', `${keyFile}: the secret key file must hold the base64 of exactly 32 bytes`);
  return key;
}

/** The sealing key as readSecretKey finds it, or a new one written to `keyFile` with mode 0600. */
export function readOrCreateSecretKey(keyFile: string, env: NodeJS.ProcessEnv): Buffer {
  const existing = readSecretKey(keyFile, env);
  if (existing) return existing;
  const key = randomBytes(32);
  try {
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new ConfigError('', `cannot create the secret key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return key;
}

/**
 * `text` (YAML or JSON) with the string values at `paths` replaced by their
 * sealed form. Only each value's own source range is rewritten, in the quoting
 * it had, so comments, key order, indentation and the rest stay as the user
 * wrote them. The result is parsed back and must differ from the original in
 * exactly those values; anything else is a refusal, not a rewrite.
 */
export function sealText(text: string, paths: KeyPath[], key: Buffer): string {
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  const expected = doc.toJS() as unknown;
  const edits: { start: number; end: number; replacement: string }[] = [];
  for (const path of paths) {
    const node = doc.getIn(path, true);
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
      throw new ConfigError(keyPath('', path), 'cannot seal this value in place: write it as a string scalar (not an alias or a merged key)');
    }
    const sealed = seal(node.value, key);
    const [start, end] = node.range;
    let replacement: string;
    if (node.type === Scalar.PLAIN) replacement = sealed;
    else if (node.type === Scalar.QUOTE_SINGLE) replacement = `'${sealed}'`;
    // A block scalar (| or >) owns the line break that ends it; keep one.
    else replacement = `"${sealed}"` + (text.slice(start, end).endsWith('\n') ? '\n' : '');
    edits.push({ start, end, replacement });
    setIn(expected, path, sealed);
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.replacement + out.slice(e.end);
  let actual: unknown;
  try {
    actual = YAML.parse(out, { uniqueKeys: true });
  } catch {
    actual = undefined;
  }
  if (!isDeepStrictEqual(actual, expected)) {
    throw new ConfigError(keyPath('', paths[0]!), 'cannot seal the secure parameters in place without changing other values; the file is left as it is');
  }
  return out;
}

/**
 * Why `serve` must not rewrite `file`, or undefined when it may. A file or
 * directory without any write permission bit is read-only by intent (a
 * ConfigMap, a 0444 file) even for root, whom access(2) would let through.
 */
export function whyNotRewritable(file: string): string | undefined {
  const target = realpathSync(file);
  const dir = dirname(target);
  const links = statSync(target).nlink;
  if (links > 1) return `${target} has ${links} hard links: replacing it would leave the plain values in the others`;
  for (const [what, path] of [['the file', target], ['its directory', dir]] as const) {
    if ((statSync(path).mode & 0o222) === 0) return `${what} ${path} is read-only`;
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      return `${what} ${path} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
  }
  return undefined;
}

/**
 * Replaces the contents of `file` with `text`: through a symlink, the link's
 * target (the file that held the plain values) is what gets replaced. Written
 * to a temporary file beside the target with the target's mode and owner,
 * fsync'd and renamed over it, so a crash leaves either the old or the new
 * file, and no copy of the plain text is left anywhere under another name.
 * Returns the target's path.
 */
export function replaceFile(file: string, text: string): string {
  const target = realpathSync(file);
  const st = statSync(target);
  if (st.nlink > 1) throw new Error(`${target} has ${st.nlink} hard links: replacing it would leave the plain values in the others`);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.sealing-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      writeFileSync(fd, text);
      // chown first: it may clear set-id bits that the chmod then restores.
      // Only root may give a file away; anyone else keeps their own ownership.
      try {
        fchownSync(fd, st.uid, st.gid);
      } catch {
        /* EPERM for a non-root user: the file stays theirs */
      }
      fchmodSync(fd, st.mode & 0o7777);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or never written */
    }
    throw err;
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return target;
}

function getIn(obj: unknown, path: KeyPath): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], obj);
}

export function setIn(obj: unknown, path: KeyPath, value: unknown): void {
  const parent = getIn(obj, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
}
