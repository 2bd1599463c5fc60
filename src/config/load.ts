import { readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../core/errors.js';
import { substituteEnv } from './env-substitution.js';
import { configSchema, type AuditstreamConfig } from './schema.js';
import { findSecureParams, isSealed, loadSecretKey, seal, unseal } from './secure-params.js';
import { keyPath, parseConfig } from './validate.js';

export interface LoadOptions {
  /** Config file (YAML or JSON). Absent: the embedded default. */
  file?: string;
  /** Command-line overrides, applied before validation. */
  overrides?: { listen?: string; dataDir?: string };
  /** Rewrite the file with plain secureParams sealed (what `serve` does at start-up). */
  sealSecrets?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: AuditstreamConfig;
  file?: string;
  /** How many secureParams values this load sealed into the file. */
  sealed: number;
}

export interface ReadConfig {
  /** The config as written, secrets unsealed and `${VAR}` substituted, not yet validated. */
  raw: Record<string, unknown>;
  file?: string;
  sealed: number;
}

/** Reads the config and checks it against the config schema alone (Pipeline.validate checks the whole). */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const { raw, ...rest } = readConfig(opts);
  return { config: parseConfig(configSchema, raw, ''), ...rest };
}

/** Reads the config file (or the embedded default) without validating it: `Pipeline.validate` does, reporting every problem at once. */
export function readConfig(opts: LoadOptions = {}): ReadConfig {
  const env = opts.env ?? process.env;
  let raw: unknown = {};
  let text = '';
  const file = opts.file ? resolve(opts.file) : undefined;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('', `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    raw = parseText(text, file);
    if (raw === null || raw === undefined) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('', `${file}: the top level must be a mapping`);
  }
  const obj = raw as Record<string, unknown>;
  if (opts.overrides?.dataDir) obj.dataDir = opts.overrides.dataDir;
  if (opts.overrides?.listen) obj.server = { ...((obj.server as object | undefined) ?? {}), listen: opts.overrides.listen };

  const secrets = findSecureParams(obj);
  let sealed = 0;
  if (secrets.length > 0) {
    const dataDir = typeof obj.dataDir === 'string' ? obj.dataDir : './auditstream-data';
    const key = loadSecretKey(join(resolve(dataDir), 'secret.key'), env);
    const plain = secrets.filter((s) => !isSealed(s.value));
    if (opts.sealSecrets && file && plain.length > 0) {
      writeSealed(file, text, plain, key);
      sealed = plain.length;
    }
    for (const s of secrets) {
      if (isSealed(s.value)) setIn(obj, s.path, unseal(s.value, key, keyPath('', s.path)));
    }
  }

  const substituted = substituteEnv(obj, env) as Record<string, unknown>;
  return { raw: substituted, ...(file ? { file } : {}), sealed };
}

function parseText(text: string, file: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError('', `${file}: not valid YAML or JSON${where}: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

/** Rewrites the config file with the given secrets sealed; atomic (temp file, fsync, rename). */
function writeSealed(file: string, text: string, plain: { path: (string | number)[] }[], key: Buffer): void {
  let out: string;
  if (file.endsWith('.json')) {
    const data = JSON.parse(JSON.stringify(YAML.parse(text)));
    for (const s of plain) setIn(data, s.path, seal(getIn(data, s.path) as string, key));
    out = JSON.stringify(data, null, 2) + '\n';
  } else {
    const doc = YAML.parseDocument(text);
    for (const s of plain) doc.setIn(s.path, seal(doc.getIn(s.path) as string, key));
    out = doc.toString();
  }
  const tmp = `${file}.sealing-${process.pid}`;
  writeFileSync(tmp, out, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
}

function getIn(obj: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], obj);
}

function setIn(obj: unknown, path: (string | number)[], value: unknown): void {
  const parent = getIn(obj, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
}
