import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { startServer } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const s3 = { type: 's3', bucket: 'audit-bucket', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };

/** What serve and config check run on a config file. */
const check = (file: string) => Pipeline.validate(readConfig({ file, env: {} }).raw);

function loadError(dir: string, config: object): ConfigError {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  try {
    check(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`${JSON.stringify(config)} was accepted`);
}

test('serve refuses a source name with ../ at config load (exit 2, naming the key) and writes nothing outside dataDir', async (t) => {
  const root = await tempDir(t);
  const dataDir = join(root, 'deep', 'data');
  mkdirSync(dataDir, { recursive: true });
  const refused = await startServer(t, { dataDir, config: { sources: [{ ...s3, name: '../../escaped' }] } }).then(
    () => assert.fail('the server started'),
    (err: Error) => err.message,
  );
  assert.match(refused, /server exited \(code 2,/);
  assert.match(refused, /config error: sources\[0\]\.name: use letters, digits/);
  assert.equal(existsSync(join(root, 'escaped')), false, 'no state outside dataDir');
  assert.deepEqual(readdirSync(root), ['deep']);
});

test('every source name that is not a plain file name is refused with its key path; plain ones pass', async (t) => {
  const dir = await tempDir(t);
  for (const name of ['../x', '..', '.', '.hidden', 'a/b', '/abs', 'a\\b', 'a b', '', 'x'.repeat(65)]) {
    const err = loadError(dir, { sources: [s3, { ...s3, name }] });
    assert.equal(err.path, 'sources[1].name', `${JSON.stringify(name)}: ${err.message}`);
  }
  const file = join(dir, 'ok.json');
  writeFileSync(file, JSON.stringify({ sources: [{ ...s3, name: 'cloudtrail.us-east-1_v2' }] }));
  assert.equal(check(file).sources[0]!.name, 'cloudtrail.us-east-1_v2');
});

test('two sources with one name (given, or the <type>-<index> default) are refused: they would share their progress', async (t) => {
  const dir = await tempDir(t);
  const given = loadError(dir, { sources: [{ ...s3, name: 'trail' }, { ...s3, name: 'trail' }] });
  assert.equal(given.path, 'sources[1].name');
  assert.match(given.problem, /duplicate source name "trail" \(also sources\[0\]\)/);
  const defaulted = loadError(dir, { sources: [{ ...s3, name: 's3-1' }, s3] });
  assert.equal(defaulted.path, 'sources[1].name');
  assert.match(defaulted.problem, /duplicate source name "s3-1"/);
});
