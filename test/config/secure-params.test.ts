import assert from 'node:assert/strict';
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../support/temp.js';

const KEY = Buffer.alloc(32, 3).toString('base64');
const SEALED = /enc:v1:[A-Za-z0-9+/=]+/g;

type Sasl = { jaasConfig: string; secureParams: Record<string, string> };
const saslOf = (config: { audit: { emitters: unknown[] } }, i = 0) => (config.audit.emitters[i] as { sasl: Sasl }).sasl;

/** Every file under `dir` whose bytes contain `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => lstatSync(f).isFile() && readFileSync(f).includes(needle));
}

test('a symlinked config file: the target is sealed in place, the link stays a link, no plain copy is left', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(join(dir, 'real'));
  const target = join(dir, 'real', 'auditstream.yaml');
  writeFileSync(target, 'audit:\n  emitters:\n    - type: log\n      sasl:\n        secureParams:\n          pswd: Plain-Secret-42\n', { mode: 0o644 });
  const link = join(dir, 'auditstream.yaml');
  symlinkSync(target, link);

  const { config, sealed } = loadConfig({ file: link, env: { AUDITSTREAM_SECRET_KEY: KEY }, sealSecrets: true });
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.match(readFileSync(target, 'utf8'), /pswd: enc:v1:/);
  assert.equal(statSync(target).mode & 0o777, 0o644, 'the target keeps its mode');
  assert.deepEqual(filesHolding(dir, 'Plain-Secret-42'), [], 'no file holds the plain secret');
  assert.deepEqual(readdirSync(join(dir, 'real')), ['auditstream.yaml'], 'no temporary file is left');
  assert.deepEqual(sealed, ['audit.emitters[0].sasl.secureParams.pswd']);
  assert.equal(saslOf(config).secureParams.pswd, 'Plain-Secret-42');
  assert.equal(saslOf(loadConfig({ file: link, env: { AUDITSTREAM_SECRET_KEY: KEY } }).config).secureParams.pswd, 'Plain-Secret-42');
});

test('the key file is looked for in the substituted dataDir, not in a directory named ${VAR:-…}', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'dataDir: ${AS_TEST_DATA:-./data}\naudit:\n  emitters:\n    - type: log\n      sasl: { secureParams: { pswd: hunter2-hunter2 } }\n');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const first = loadConfig({ file, env: { AS_TEST_DATA: join(dir, 'from-env') }, sealSecrets: true });
    assert.equal(first.config.dataDir, join(dir, 'from-env'));
    assert.ok(statSync(join(dir, 'from-env', 'secret.key')).isFile(), 'the key file is in the substituted dataDir');
    assert.deepEqual(readdirSync(dir).sort(), ['c.yaml', 'from-env'], 'no ${…} directory appeared');
    // The default of ${VAR:-default} counts the same way: a key in ./data would not open these values.
    const withDefault = () => loadConfig({ file, env: {} });
    assert.throws(withDefault, /secureParams\.pswd: cannot open this sealed value: .*no key file .*data\/secret\.key/);
    assert.equal(saslOf(loadConfig({ file, env: { AS_TEST_DATA: join(dir, 'from-env') } }).config).secureParams.pswd, 'hunter2-hunter2');
  } finally {
    process.chdir(cwd);
  }
});

test('secureParams values are literal: never ${}-expanded, sealed and opened as written; ${name} still reaches jaasConfig', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    [
      'dataDir: ${AS_TEST_DIR}',
      'audit:',
      '  emitters:',
      '    - type: log',
      '      sasl:',
      '        jaasConfig: PlainLoginModule required username="${AS_TEST_USER}" password="${pswd}";',
      '        secureParams:',
      "          pswd: 'pa$${HOME}ss'",
      "          other: '${AS_TEST_UNSET_VARIABLE}'",
      '',
    ].join('\n'),
  );
  const env = { HOME: '/root', AS_TEST_DIR: join(dir, 'data'), AS_TEST_USER: 'alice', AUDITSTREAM_SECRET_KEY: KEY };
  const plain = saslOf(loadConfig({ file, env }).config);
  assert.deepEqual(plain.secureParams, { pswd: 'pa$${HOME}ss', other: '${AS_TEST_UNSET_VARIABLE}' });
  assert.equal(plain.jaasConfig, 'PlainLoginModule required username="alice" password="${pswd}";');

  assert.equal(loadConfig({ file, env, sealSecrets: true }).sealed.length, 2);
  assert.doesNotMatch(readFileSync(file, 'utf8'), /HOME|AS_TEST_UNSET/);
  const opened = saslOf(loadConfig({ file, env }).config);
  assert.deepEqual(opened.secureParams, { pswd: 'pa$${HOME}ss', other: '${AS_TEST_UNSET_VARIABLE}' });
});

test('sealing rewrites only the secret values: comments, order, quoting, indentation and the file mode stay (YAML and JSON)', async (t) => {
  const dir = await tempDir(t);
  const env = { AUDITSTREAM_SECRET_KEY: KEY };
  const yaml = [
    '# auditstream — production',
    'logLevel:   info   # keep quiet',
    'audit:',
    '    emitters:',
    '      - type: log',
    '        name: "kafka-ish"',
    '        sasl:',
    '          secureParams:   # sealed at start',
    "            single: 'one secret'",
    '            double: "two \\"secret\\""',
    '            plain: three-secret',
    '            block: |',
    '              four secret',
    '          after: kept',
    '      - { type: log, name: flow, sasl: { secureParams: { inner: five-secret } } }',
    'dataDir: /var/lib/x',
    '',
  ].join('\n');
  const json = '{\n    "dataDir" : "/var/lib/y",\n\t"audit": {"emitters": [ {"type": "log", "sasl": {"secureParams": {"pswd": "six-secret", }}} ]},\n    "logLevel": "warn"\n}\n';
  for (const [name, text, secrets, count] of [
    ['c.yaml', yaml, ["'one secret'", '"two \\"secret\\""', 'three-secret', 'five-secret'], 5],
    ['c.json', json, ['"six-secret"'], 1],
  ] as const) {
    const file = join(dir, name);
    writeFileSync(file, text);
    chmodSync(file, 0o640);
    const before = loadConfig({ file, env }).config;
    const { sealed } = loadConfig({ file, env, sealSecrets: true });
    const after = readFileSync(file, 'utf8');
    let expected = text;
    // The block scalar becomes one quoted line; every other value keeps its quoting.
    expected = expected.replace('|\n              four secret\n', '"X"\n');
    for (const s of secrets) {
      const q = s.startsWith("'") ? "'" : s.startsWith('"') ? '"' : '';
      expected = expected.replace(s, `${q}X${q}`);
    }
    assert.equal(after.replace(SEALED, 'X'), expected, `${name}: only the values changed`);
    assert.equal(statSync(file).mode & 0o777, 0o640, `${name}: mode kept`);
    assert.deepEqual(loadConfig({ file, env }).config, before, `${name}: the same config opens`);
    assert.equal(sealed.length, count, `${name}: every value was sealed`);
  }
});

test('a config file with another hard link is not rewritten (the plain values would stay in the other); serve is told why', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  const text = 'audit:\n  emitters:\n    - type: log\n      sasl: { secureParams: { pswd: linked-secret } }\n';
  writeFileSync(file, text);
  linkSync(file, join(dir, 'other-name.yaml'));
  const { sealed, leftPlain } = loadConfig({ file, env: { AUDITSTREAM_SECRET_KEY: KEY }, sealSecrets: true });
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.deepEqual(sealed, []);
  assert.deepEqual(leftPlain?.keys, ['audit.emitters[0].sasl.secureParams.pswd']);
  assert.match(leftPlain!.reason, /2 hard links/);
});

test('values that cannot be sealed in place without changing others (a YAML alias) leave the file as it is; serve is told why', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  const text = 'audit:\n  emitters:\n    - type: log\n      sasl:\n        secureParams:\n          a: &shared aliased-secret\n          b: *shared\n';
  writeFileSync(file, text);
  const { config, sealed, leftPlain } = loadConfig({ file, env: { AUDITSTREAM_SECRET_KEY: KEY }, sealSecrets: true });
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.deepEqual(saslOf(config).secureParams, { a: 'aliased-secret', b: 'aliased-secret' });
  assert.deepEqual(sealed, []);
  assert.match(leftPlain!.reason, /secureParams\.b: cannot seal this value in place/);
});
