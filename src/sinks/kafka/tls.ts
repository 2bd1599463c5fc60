import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type ConnectionOptions, type SecureVersion } from 'node:tls';

export interface KeyStore {
  type: 'JKS' | 'PKCS12' | 'PEM';
  path: string;
  password?: string | undefined;
}

export interface SslSettings {
  enabledProtocols?: string[] | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  keyPassword?: string | undefined;
  keyStore?: KeyStore | undefined;
  trustedStore?: KeyStore | undefined;
}

/** A problem with one `ssl` key; `key` is relative to the `ssl` block. */
export class TlsSettingError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(problem);
  }
}

const VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Blitz's examples write `["TLSv1.2,TLSv1.3"]`: one comma-joined string. Entries are
 * split on commas; Node takes a version range, so the lowest and highest win.
 */
export function protocolRange(enabled: readonly string[]): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  const names = enabled.flatMap((e) => e.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new TlsSettingError('enabledProtocols', 'lists no protocol');
  const idx = names.map((n) => {
    const i = VERSIONS.indexOf(n as SecureVersion);
    if (i < 0) throw new TlsSettingError('enabledProtocols', `unknown protocol "${n}" (known: ${VERSIONS.join(', ')})`);
    return i;
  });
  return { minVersion: VERSIONS[Math.min(...idx)]!, maxVersion: VERSIONS[Math.max(...idx)]! };
}

/**
 * Builds Node TLS options from the `ssl` block and proves them with
 * createSecureContext, so a wrong password fails at start-up, not at first send.
 * JKS stores (what Blitz's examples use) are converted with the JDK's keytool, which must be on PATH.
 */
export function loadTlsOptions(ssl: SslSettings): ConnectionOptions {
  const problems: TlsSettingError[] = [];
  const opts = gather(ssl, problems, true);
  if (problems.length > 0) throw problems[0]!;
  return opts;
}

/**
 * Every problem with the `ssl` block that reading can find: protocols, files
 * that do not exist or cannot be read, store passwords, and (PEM, PKCS12)
 * material Node cannot load. Writes nothing: a JKS key store is only listed,
 * because converting it (loadTlsOptions, at start-up) needs a temporary file;
 * a wrong password of its key entry is therefore found at start-up only.
 */
export function tlsProblems(ssl: SslSettings): TlsSettingError[] {
  const problems: TlsSettingError[] = [];
  gather(ssl, problems, false);
  return problems;
}

function gather(ssl: SslSettings, problems: TlsSettingError[], convertJks: boolean): ConnectionOptions {
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof TlsSettingError)) throw err;
      problems.push(err);
      return undefined;
    }
  };
  const opts: ConnectionOptions = {};
  const set = <K extends keyof ConnectionOptions>(key: K, value: ConnectionOptions[K] | undefined) => {
    if (value !== undefined) opts[key] = value;
  };
  if (ssl.enabledProtocols) Object.assign(opts, attempt(() => protocolRange(ssl.enabledProtocols!)));
  if (ssl.caFile) set('ca', attempt(() => readSetting('caFile', ssl.caFile!)));
  if (ssl.certFile) set('cert', attempt(() => readSetting('certFile', ssl.certFile!)));
  if (ssl.keyFile) set('key', attempt(() => readSetting('keyFile', ssl.keyFile!)));
  if (ssl.keyPassword && ssl.keyFile) opts.passphrase = ssl.keyPassword;
  if (ssl.trustedStore) set('ca', attempt(() => trustedCertificates(ssl.trustedStore!)));
  const listOnly = ssl.keyStore?.type === 'JKS' && !convertJks;
  if (ssl.keyStore && listOnly) attempt(() => listJks(ssl.keyStore!, ssl.keyPassword));
  else if (ssl.keyStore) set('pfx', attempt(() => [keyStorePfx(ssl.keyStore!, ssl.keyPassword)]));
  if (problems.length === 0 && !listOnly) {
    try {
      createSecureContext(opts);
    } catch (err) {
      const key = ssl.keyStore ? 'keyStore.password' : ssl.keyFile ? 'keyFile' : 'caFile';
      problems.push(new TlsSettingError(key, `cannot load the TLS material: ${(err as Error).message}`));
    }
  }
  return opts;
}

function readSetting(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsSettingError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function keyStorePfx(store: KeyStore, keyPassword: string | undefined): { buf: Buffer; passphrase: string } {
  if (store.type === 'PEM') throw new TlsSettingError('keyStore.type', 'a PEM key pair is configured with certFile and keyFile');
  if (store.type === 'PKCS12') return { buf: readSetting('keyStore.path', store.path), passphrase: store.password ?? '' };
  readSetting('keyStore.path', store.path);
  const dir = mkdtempSync(join(tmpdir(), 'auditstream-jks-'));
  try {
    // A fresh password for the throwaway PKCS12 copy; keytool wants at least 6 characters.
    const out = randomBytes(18).toString('base64url');
    const target = join(dir, 'keystore.p12');
    const secrets = { SRC_PASS: store.password ?? '', DEST_PASS: out, KEY_PASS: keyPassword ?? '' };
    const args = ['-importkeystore', '-noprompt', '-srckeystore', store.path, '-srcstoretype', 'JKS', '-srcstorepass:env', 'SRC_PASS', '-destkeystore', target, '-deststoretype', 'PKCS12', '-deststorepass:env', 'DEST_PASS'];
    // A key password of its own can only be given for one named entry: take the store's key entry.
    if (keyPassword && keyPassword !== store.password) args.push('-srcalias', keyAlias(store), '-srckeypass:env', 'KEY_PASS');
    keytool('keyStore', args, secrets);
    return { buf: readFileSync(target), passphrase: out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens a JKS key store with its password, as the conversion at start-up will, without writing the copy. */
function listJks(store: KeyStore, keyPassword: string | undefined): void {
  readSetting('keyStore.path', store.path);
  if (keyPassword && keyPassword !== store.password) keyAlias(store);
  else keytool('keyStore', ['-list', '-keystore', store.path, '-storetype', 'JKS', '-storepass:env', 'STORE_PASS'], { STORE_PASS: store.password ?? '' });
}

function keyAlias(store: KeyStore): string {
  const listing = keytool('keyStore', ['-list', '-keystore', store.path, '-storetype', 'JKS', '-storepass:env', 'STORE_PASS'], { STORE_PASS: store.password ?? '' });
  const aliases = [...listing.matchAll(/^(.+?),[^\n]*,\s*PrivateKeyEntry,?\s*$/gm)].map((m) => m[1]!);
  if (aliases.length !== 1) throw new TlsSettingError('keyStore.path', `expected one private key entry in ${store.path}, found ${aliases.length}`);
  return aliases[0]!;
}

function trustedCertificates(store: KeyStore): string[] {
  if (store.type === 'PEM') return [readSetting('trustedStore.path', store.path).toString('utf8')];
  readSetting('trustedStore.path', store.path);
  const listing = keytool('trustedStore', ['-list', '-rfc', '-keystore', store.path, '-storetype', store.type, '-storepass:env', 'STORE_PASS'], { STORE_PASS: store.password ?? '' });
  const certs = listing.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length === 0) throw new TlsSettingError('trustedStore.path', `${store.path} holds no certificates`);
  return certs;
}

/** Passwords go through the environment (keytool's `:env` form), never the process list. */
function keytool(setting: string, args: string[], secrets: Record<string, string>): string {
  try {
    return execFileSync('keytool', args, { env: { ...process.env, ...secrets }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new TlsSettingError(
        `${setting}.type`,
        'reading a JKS store needs the JDK\'s keytool on PATH; install a JRE or convert the store once with ' +
          '"keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype PKCS12" and set type: PKCS12',
      );
    }
    const detail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n')[0] ?? String(err);
    throw new TlsSettingError(`${setting}.password`, `keytool cannot open the store: ${detail}`);
  }
}
