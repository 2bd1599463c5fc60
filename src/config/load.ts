import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../core/errors.js';
import { substituteEnv } from './env-substitution.js';
import { configSchema, type AuditstreamConfig } from './schema.js';
import {
  findSecureParams,
  isSealed,
  readOrCreateSecretKey,
  readSecretKey,
  replaceFile,
  sealText,
  secretKeyFile,
  setIn,
  unseal,
  whyNotRewritable,
  type SecureParamRef,
} from './secure-params.js';
import { keyPath, parseConfig } from './validate.js';

export interface LoadOptions {
  /** Config file (YAML or JSON). Absent: the embedded default. */
  file?: string;
  /** Command-line overrides, applied before validation. */
  overrides?: { listen?: string; dataDir?: string };
  /**
   * Rewrite the file with plain secureParams sealed (what `serve` does at
   * start-up), creating the secret key file if needed. Without it a load
   * writes nothing at all.
   */
  sealSecrets?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: AuditstreamConfig;
  file?: string;
  /** Key paths of the secureParams values this load sealed into the file. */
  sealed: string[];
  /** Plain secureParams values left in a file that may not be rewritten, and why. */
  leftPlain?: { keys: string[]; reason: string };
}

/** A config as read: secrets opened and `${VAR}` substituted, not validated yet. */
export interface ReadConfig {
  raw: Record<string, unknown>;
  file?: string;
  /** What sealing needs: the file's text, its plain secureParams, the key file and the key if one was needed already. */
  private: { text?: string; plain: SecureParamRef[]; keyFile: string; key?: Buffer; env: NodeJS.ProcessEnv };
}

/**
 * Reads the config file (or the embedded default) and writes nothing:
 * `Pipeline.validate` checks the result, reporting every problem at once,
 * and `sealPlainSecrets` seals the file afterwards if asked.
 */
export function readConfig(opts: Omit<LoadOptions, 'sealSecrets'> = {}): ReadConfig {
  const env = opts.env ?? process.env;
  const source = opts.file ? readConfigFile(opts.file) : undefined;
  const obj = source?.data ?? {};
  if (opts.overrides?.dataDir) obj.dataDir = opts.overrides.dataDir;
  if (opts.overrides?.listen) obj.server = { ...((obj.server as object | undefined) ?? {}), listen: opts.overrides.listen };

  // Substituted first, so that the key file is looked for in the dataDir this
  // start will use, not in a directory literally named `${VAR:-…}`.
  const raw = substituteEnv(obj, env) as Record<string, unknown>;
  const keyFile = secretKeyFile(dataDirOf(raw));
  const secrets = findSecureParams(raw);
  const sealedRefs = secrets.filter((s) => isSealed(s.value));
  const plain = secrets.filter((s) => !isSealed(s.value));
  const key = sealedRefs.length > 0 ? requireKey(keyFile, env, sealedRefs[0]!) : undefined;
  for (const s of sealedRefs) setIn(raw, s.path, unseal(s.value, key!, keyPath('', s.path)));
  return {
    raw,
    ...(source ? { file: source.file } : {}),
    private: { ...(source ? { text: source.text } : {}), plain, keyFile, ...(key ? { key } : {}), env },
  };
}

/**
 * Rewrites the config file with its plain secureParams sealed (what `serve`
 * does once the config is valid), creating the secret key file if needed. A
 * file that may not be rewritten is left as it is and said so: the values
 * are used from memory.
 */
export function sealPlainSecrets(read: ReadConfig): Pick<LoadedConfig, 'sealed' | 'leftPlain'> {
  const { text, plain, keyFile, env } = read.private;
  if (!read.file || text === undefined || plain.length === 0) return { sealed: [] };
  const keys = plain.map((s) => keyPath('', s.path));
  const reason = whyNotRewritable(read.file);
  if (reason) return { sealed: [], leftPlain: { keys, reason } };
  const key = read.private.key ?? readOrCreateSecretKey(keyFile, env);
  try {
    replaceFile(read.file, sealText(text, plain.map((s) => s.path), key));
    return { sealed: keys };
  } catch (err) {
    // The config itself is valid: a file we cannot seal is a warning, not a failed start.
    if (err instanceof ConfigError) return { sealed: [], leftPlain: { keys, reason: err.message } };
    if (isPermissionError(err)) return { sealed: [], leftPlain: { keys, reason: `${read.file} cannot be rewritten (${(err as NodeJS.ErrnoException).code})` } };
    throw err;
  }
}

/** Reads the config and checks it against the config schema alone (`Pipeline.validate` checks the whole); seals if asked. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const read = readConfig(opts);
  const config = parseConfig(configSchema, read.raw, '');
  const sealing = opts.sealSecrets ? sealPlainSecrets(read) : { sealed: [] };
  return { config, ...(read.file ? { file: read.file } : {}), ...sealing };
}

export interface SealResult {
  /** The file that was rewritten (a symlink's target). */
  file: string;
  sealed: string[];
  /** Where the key came from, for the user to give the same one to the server. */
  key: string;
}

/**
 * `auditstream config seal`: seals every plain secureParams value of `file` in
 * place, without validating the rest (the environment the file is meant for
 * may not be this one). Only `dataDir` is substituted, to find the key file.
 */
export function sealConfigFile(file: string, opts: { env?: NodeJS.ProcessEnv; dataDir?: string } = {}): SealResult {
  const env = opts.env ?? process.env;
  const source = readConfigFile(file);
  const dataDir = opts.dataDir ?? (substituteEnv(source.data.dataDir, env, ['dataDir']) as unknown);
  const keyFile = secretKeyFile(dataDirOf({ dataDir }));
  const keySource = env.AUDITSTREAM_SECRET_KEY ? 'AUDITSTREAM_SECRET_KEY' : keyFile;
  const secrets = findSecureParams(source.data);
  const sealedRefs = secrets.filter((s) => isSealed(s.value));
  const plain = secrets.filter((s) => !isSealed(s.value));
  if (plain.length === 0) return { file: source.file, sealed: [], key: keySource };
  // One file, one key: values sealed under another key would never open next to these.
  const key = sealedRefs.length > 0 ? requireKey(keyFile, env, sealedRefs[0]!) : readOrCreateSecretKey(keyFile, env);
  for (const s of sealedRefs) unseal(s.value, key, keyPath('', s.path));
  const target = replaceFile(source.file, sealText(source.text, plain.map((s) => s.path), key));
  return { file: target, sealed: plain.map((s) => keyPath('', s.path)), key: keySource };
}

function readConfigFile(path: string): { file: string; text: string; data: Record<string, unknown> } {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError('', `${file}: not valid YAML or JSON${where}: ${e.message.split('\n')[0]}`);
  }
  const data = (doc.toJS() as unknown) ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError('', `${file}: the top level must be a mapping`);
  return { file, text, data: data as Record<string, unknown> };
}

function dataDirOf(obj: Record<string, unknown>): string {
  return configSchema.shape.dataDir.parse(typeof obj.dataDir === 'string' && obj.dataDir !== '' ? obj.dataDir : undefined);
}

function requireKey(keyFile: string, env: NodeJS.ProcessEnv, first: SecureParamRef): Buffer {
  const key = readSecretKey(keyFile, env);
  if (!key) {
    throw new ConfigError(keyPath('', first.path), `cannot open this sealed value: AUDITSTREAM_SECRET_KEY is not set and there is no key file ${keyFile}`);
  }
  return key;
}

function isPermissionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}
