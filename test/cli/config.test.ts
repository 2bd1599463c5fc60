import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { seal } from '../../src/config/secure-params.js';
import { startServer } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const cli = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  // tsx by its resolved URL: these runs have a cwd of their own, where `--import tsx` would not resolve.
  spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, AUDITSTREAM_SECRET_KEY: '', ...opts.env },
  });

const KEY = Buffer.alloc(32, 5);

/** A config whose only secret sits in a disabled Kafka emitter: valid, and never connects anywhere. */
function configYaml(pswd: string, dataDir = './data'): string {
  return [
    '# the operator keeps comments here',
    `dataDir: ${dataDir}`,
    'audit:',
    '  emitters:',
    '    - type: log',
    '    - type: audit-store',
    '    - type: kafka',
    '      enabled: false',
    '      bootstrapServers: ["127.0.0.1:9"]',
    '      topic: audit',
    '      sasl:',
    '        jaasConfig: org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${pswd}";',
    '        secureParams:',
    `          pswd: ${pswd}   # sealed on first start`,
    '',
  ].join('\n');
}

/** Every path under `dir` with its mode, size, mtime and bytes: what "writes nothing" compares. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ['.', ...readdirSync(dir, { recursive: true, encoding: 'utf8' })]) {
    const p = join(dir, f);
    const st = lstatSync(p);
    out[f] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.isFile() ? readFileSync(p, 'base64') : ''}`;
  }
  return out;
}

test('config check writes nothing: no dataDir, no key file, no sealing; a sealed value it cannot open is reported', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auditstream.yaml');
  writeFileSync(file, configYaml('Plain-Check-Secret'));
  const before = snapshot(dir);
  const ok = cli(['config', 'check', '--config', file], { cwd: dir });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /config ok: 3 emitter\(s\)/);
  assert.deepEqual(snapshot(dir), before, 'the check changed nothing on disk');

  writeFileSync(file, configYaml(seal('Plain-Check-Secret', KEY)));
  const sealedBefore = snapshot(dir);
  const noKey = cli(['config', 'check', '--config', file], { cwd: dir });
  assert.equal(noKey.status, 2, noKey.stderr);
  assert.match(noKey.stderr, /config error: audit\.emitters\[2\]\.sasl\.secureParams\.pswd: cannot open this sealed value: AUDITSTREAM_SECRET_KEY is not set and there is no key file .*data\/secret\.key/);
  assert.deepEqual(snapshot(dir), sealedBefore, 'the failed check changed nothing on disk');
  const withKey = cli(['config', 'check', '--config', file], { cwd: dir, env: { AUDITSTREAM_SECRET_KEY: KEY.toString('base64') } });
  assert.equal(withKey.status, 0, withKey.stderr);
  assert.deepEqual(snapshot(dir), sealedBefore);
});

test('config seal FILE seals a symlinked file in place, keeps comments and mode, says which key; the result checks', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(join(dir, 'deploy'));
  const target = join(dir, 'deploy', 'auditstream.yaml');
  const text = configYaml("'Seal-Me-Secret'", join(dir, 'data'));
  writeFileSync(target, text);
  chmodSync(target, 0o640);
  const link = join(dir, 'auditstream.yaml');
  symlinkSync(target, link);

  const help = cli(['config', 'seal', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: auditstream config seal \[options\] <file>[\s\S]*--data-dir <dir>/);

  const sealed = cli(['config', 'seal', link]);
  assert.equal(sealed.status, 0, sealed.stderr);
  const keyFile = join(dir, 'data', 'secret.key');
  assert.equal(sealed.stdout, `${target}: sealed 1 value(s) with the key from ${keyFile}: audit.emitters[2].sasl.secureParams.pswd\n`);
  assert.ok(lstatSync(link).isSymbolicLink());
  const after = readFileSync(target, 'utf8');
  assert.equal(after.replace(/'enc:v1:[A-Za-z0-9+/=]+'/, "'Seal-Me-Secret'"), text, 'only the value changed');
  assert.equal(statSync(target).mode & 0o777, 0o640);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);

  const again = cli(['config', 'seal', link]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /no plain secureParams values to seal/);
  assert.equal(readFileSync(target, 'utf8'), after);
  const check = cli(['config', 'check', '--config', link]);
  assert.equal(check.status, 0, check.stderr);

  // A second plain value sealed under another key would never open next to the first: refused.
  const mixed = after.replace('          pswd:', '          other: plain-too\n          pswd:');
  writeFileSync(target, mixed);
  const otherKey = cli(['config', 'seal', target], { env: { AUDITSTREAM_SECRET_KEY: Buffer.alloc(32, 9).toString('base64') } });
  assert.equal(otherKey.status, 2);
  assert.match(otherKey.stderr, /audit\.emitters\[2\]\.sasl\.secureParams\.pswd: cannot decrypt/);
  assert.equal(readFileSync(target, 'utf8'), mixed);
});

test('serve on a read-only config file, or one in a read-only directory, starts with the plain values and warns', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(join(dir, 'ro-dir'));
  const readOnlyFile = join(dir, 'read-only.yaml');
  const inReadOnlyDir = join(dir, 'ro-dir', 'auditstream.yaml');
  const text = configYaml('Plain-Serve-Secret', join(dir, 'data'));
  writeFileSync(readOnlyFile, text);
  chmodSync(readOnlyFile, 0o444);
  writeFileSync(inReadOnlyDir, text);
  chmodSync(join(dir, 'ro-dir'), 0o555);
  try {
    for (const [file, why] of [
      [readOnlyFile, /the file .*read-only\.yaml is read-only/],
      [inReadOnlyDir, /its directory .*ro-dir is read-only/],
    ] as const) {
      const server = await startServer(t, { dataDir: join(dir, 'data'), configFile: file });
      const res = await fetch(`${server.url}/v1/emitters`);
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as { emitters: { name: string }[] }).emitters.map((e) => e.name), ['log', 'audit-store', 'kafka']);
      const warning = server.stderr().split('\n').find((l) => l.includes('still holds plain secureParams'));
      assert.ok(warning, server.stderr());
      const logged = JSON.parse(warning) as { level: number; plain: string[]; reason: string; msg: string };
      assert.equal(logged.level, 40, 'logged as a warning');
      assert.deepEqual(logged.plain, ['audit.emitters[2].sasl.secureParams.pswd']);
      assert.match(logged.reason, why);
      assert.match(logged.msg, /auditstream config seal /);
      assert.equal(readFileSync(file, 'utf8'), text, 'the file is untouched');
      server.child.kill('SIGTERM');
      await server.exited;
    }
    assert.equal(statSync(readOnlyFile).mode & 0o777, 0o444);
    assert.deepEqual(readdirSync(join(dir, 'ro-dir')), ['auditstream.yaml'], 'no temporary file in the read-only directory');
  } finally {
    // tempDir's clean-up needs to write in it (for a user other than root).
    chmodSync(join(dir, 'ro-dir'), 0o755);
  }
});
