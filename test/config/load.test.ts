import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, readConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ConfigError } from '../../src/core/errors.js';
import { tempDir } from '../support/temp.js';

test('no config file gives the embedded default: HTTP on 127.0.0.1:8080, log and audit-store emitters', () => {
  const { config } = loadConfig({ env: {} });
  assert.equal(config.server.listen, '127.0.0.1:8080');
  assert.equal(config.dataDir, './auditstream-data');
  assert.deepEqual(config.audit.emitters.map((e) => [e.type, e.name]), [['log', 'log'], ['audit-store', 'audit-store']]);
  assert.equal(config.audit.emitTimeoutInSec, 60);
  assert.equal(config.audit.ack, 'buffered');
  assert.equal(config.server.limits.maxBodyBytes, 5 * 1024 * 1024);
});

test('a misspelt key fails with the path of the bad key', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'server:\n  listen: 127.0.0.1:9000\n  apiKey: [abc]\n');
  assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => err instanceof ConfigError && err.path === 'server.apiKey' && /unknown key/.test(err.message));
  writeFileSync(file, 'audit:\n  emitters:\n    - type: log\n      queue: { maxBytes: lots }\n');
  assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => err instanceof ConfigError && err.path === 'audit.emitters[0].queue.maxBytes');
});

test('YAML syntax errors name the file and line', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'server:\n  listen: [oops\n');
  assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => err instanceof ConfigError && err.message.includes('bad.yaml') && /line \d+/.test(err.message));
});

test('${ENV} and ${ENV:-default} are substituted in values; an unset variable names its key', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'server:\n  listen: ${HOST:-127.0.0.1}:${PORT}\ndataDir: ${DATA}\n');
  const { config } = loadConfig({ file, env: { PORT: '9911', DATA: '/var/lib/as' } });
  assert.equal(config.server.listen, '127.0.0.1:9911');
  assert.equal(config.dataDir, '/var/lib/as');
  assert.throws(() => loadConfig({ file, env: { DATA: 'x' } }), (err: unknown) => err instanceof ConfigError && err.path === 'server.listen' && err.message.includes('PORT'));
});

test('a source vpcFlowFormat keeps its ${field} names (not environment variables); a bad field fails naming the key', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.yaml');
  const source = (format: string) => `sources:\n  - type: s3\n    name: flows\n    bucket: flow-logs\n    region: us-east-1\n    vpcFlowFormat: "${format}"\n`;
  writeFileSync(file, source('${version} ${srcaddr} ${dstaddr}'));
  const { config } = loadConfig({ file, env: { version: '9' } });
  assert.equal((config.sources[0] as { vpcFlowFormat?: string }).vpcFlowFormat, '${version} ${srcaddr} ${dstaddr}');
  writeFileSync(file, source('${version} ${srcadr}'));
  // What `auditstream config check` runs: each source's own keys are checked by its type's schema.
  assert.throws(
    () => Pipeline.validate(readConfig({ file, env: {} }).raw),
    (err: unknown) => err instanceof ConfigError && err.path === 'sources[0].vpcFlowFormat' && err.message.includes('${srcadr} is not a VPC or Transit Gateway flow log field'),
  );
});

test('command-line overrides win over the file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ server: { listen: '127.0.0.1:1' }, dataDir: 'a' }));
  const { config } = loadConfig({ file, env: {}, overrides: { listen: '0.0.0.0:2', dataDir: 'b' } });
  assert.equal(config.server.listen, '0.0.0.0:2');
  assert.equal(config.dataDir, 'b');
});

test('secureParams are sealed in the file at start-up and opened in memory; ${name} in jaasConfig is left for the sink', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'blitz.json');
  // Blitz's documented sasl block, pasted with its trailing commas.
  const text = `{
  "dataDir": "${dir}/data",
  "audit": { "emitters": [ { "type": "log", "name": "x",
    "sasl": {
      "jaasConfig": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\\"alice\\" password=\\"\${pswd}\\";",
      "mechanism": "PLAIN",
      "secureParams": { "pswd": "s3cret-Pa55", },
    } } ] }
}`;
  writeFileSync(file, text);
  const first = loadConfig({ file, env: {}, sealSecrets: true });
  assert.deepEqual(first.sealed, ['audit.emitters[0].sasl.secureParams.pswd']);
  const onDisk = readFileSync(file, 'utf8');
  assert.ok(!onDisk.includes('s3cret-Pa55'), 'the plain secret is gone from the file');
  assert.match(onDisk, /"pswd": "enc:v1:/);
  const emitter = first.config.audit.emitters[0] as unknown as { sasl: { jaasConfig: string; secureParams: { pswd: string } } };
  assert.equal(emitter.sasl.secureParams.pswd, 's3cret-Pa55');
  assert.match(emitter.sasl.jaasConfig, /password=\\?"\$\{pswd\}/);
  const second = loadConfig({ file, env: {}, sealSecrets: true });
  assert.deepEqual(second.sealed, [], 'already sealed values are not sealed again');
  const again = second.config.audit.emitters[0] as unknown as { sasl: { secureParams: { pswd: string } } };
  assert.equal(again.sasl.secureParams.pswd, 's3cret-Pa55');
  const otherKey = Buffer.alloc(32, 7).toString('base64');
  assert.throws(() => loadConfig({ file, env: { AUDITSTREAM_SECRET_KEY: otherKey } }), (err: unknown) => err instanceof ConfigError && /cannot decrypt/.test(err.message));
});
