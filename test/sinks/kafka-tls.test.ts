import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { ConfigError } from '../../src/core/errors.js';
import { newEventId } from '../../src/core/ids.js';
import { createLogger } from '../../src/core/logger.js';
import { kafkaSinkDefinition } from '../../src/sinks/kafka/sink.js';
import { loadTlsOptions, TlsSettingError } from '../../src/sinks/kafka/tls.js';
import { startKafkaMock } from '../support/kafka-mock.js';
import { startKafkaTlsProxy } from '../support/kafka-mock-tls-proxy.js';
import { tempDir } from '../support/temp.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');

/** A throwaway CA, a broker certificate for 127.0.0.1 and a client certificate, plus JKS stores of them, as Blitz's examples use. */
async function makeStores(dir: string) {
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
  for (const [name, cn] of [['server', '127.0.0.1'], ['client', 'bip-app01']] as const) {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(name === 'server' ? ['-extfile', 'server.ext'] : []));
  }
  await openssl('pkcs12', '-export', '-in', 'client.pem', '-inkey', 'client.key', '-name', 'bip-app01', '-out', 'client.p12', '-passout', 'pass:CHANGE-ME');
  await run('keytool', ['-importkeystore', '-noprompt', '-srckeystore', p('client.p12'), '-srcstoretype', 'PKCS12', '-srcstorepass', 'CHANGE-ME', '-destkeystore', p('bip-app01.jks'), '-deststoretype', 'JKS', '-deststorepass', 'CHANGE-ME']);
  // A key entry with a password of its own (Blitz's separate keyPassword).
  await run('keytool', ['-importkeystore', '-noprompt', '-srckeystore', p('client.p12'), '-srcstoretype', 'PKCS12', '-srcstorepass', 'CHANGE-ME', '-srcalias', 'bip-app01', '-destkeystore', p('keypass.jks'), '-deststoretype', 'JKS', '-deststorepass', 'CHANGE-ME', '-destkeypass', 'KEY-PASS']);
  await run('keytool', ['-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), '-keystore', p('ca.jks'), '-storetype', 'JKS', '-storepass', 'CHANGE-ME']);
  return {
    ca: await readFile(p('ca.pem')),
    serverKey: await readFile(p('server.key')),
    serverCert: await readFile(p('server.pem')),
    keyStore: p('bip-app01.jks'),
    keyPassStore: p('keypass.jks'),
    trustedStore: p('ca.jks'),
  };
}

let dir: string;
let stores: Awaited<ReturnType<typeof makeStores>>;
// keytool starts a JVM per call: the stores are made once for the file.
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kafka-tls-'));
  stores = await makeStores(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

function events(n: number): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: newEventId(),
    time: new Date(Date.UTC(2024, 4, 1) + i).toISOString(),
    type: 'login',
    source: 'blitz',
    outcome: 'success' as const,
    details: { n: i },
    raw: `{"n":${i}}`,
  }));
}

test("Blitz's SSL block with JKS keyStore and trustedStore delivers through TLS with a client certificate", async (t) => {
  const kafka = await startKafkaMock(t, { topics: { blitz_audit: 1 } });
  const brokerPort = Number(kafka.bootstrapServers[0]!.split(':')[1]);
  const proxy = await startKafkaTlsProxy(t, brokerPort, {
    key: stores.serverKey,
    cert: stores.serverCert,
    ca: stores.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  const config = parseConfig(
    kafkaSinkDefinition.schema,
    {
      bootstrapServers: [`127.0.0.1:${proxy.port}`],
      topic: 'blitz_audit',
      securityProtocol: 'SSL',
      ssl: {
        enabledProtocols: ['TLSv1.2,TLSv1.3'],
        keyStore: { password: 'CHANGE-ME', path: stores.keyStore, type: 'JKS' },
        trustedStore: { password: 'CHANGE-ME', path: stores.trustedStore, type: 'JKS' },
        keyPassword: 'CHANGE-ME',
      },
    },
    'audit.emitters[0]',
  );
  const sink = kafkaSinkDefinition.create(config, { configPath: 'audit.emitters[0]', emitterName: 'kafka', dataDir: await tempDir(t), logger: createLogger('fatal'), metrics: new Registry() });
  t.after(() => sink.close());

  const steps = await sink.check(AbortSignal.timeout(30_000));
  assert.deepEqual(steps.map((s) => s.ok), [true, true, true], JSON.stringify(steps));
  const batch = events(25);
  await sink.send(batch, AbortSignal.timeout(30_000));

  const got = (await kafka.readAll('blitz_audit')).map((m) => JSON.parse(m.payload!).id).sort();
  assert.deepEqual(got, batch.map((e) => e.id).sort());
  assert.ok(proxy.clientCertificates.length > 0 && proxy.clientCertificates.every((cn) => cn === 'bip-app01'), 'the client certificate from the JKS keyStore was presented');
});

test('a wrong JKS password stops the emitter at start-up with an error naming the key', async (t) => {
  const config = parseConfig(
    kafkaSinkDefinition.schema,
    {
      bootstrapServers: ['127.0.0.1:9093'],
      topic: 'blitz_audit',
      securityProtocol: 'SSL',
      ssl: { trustedStore: { password: 'wrong-password', path: stores.trustedStore, type: 'JKS' } },
    },
    'audit.emitters[0]',
  );
  assert.throws(
    () => kafkaSinkDefinition.create(config, { configPath: 'audit.emitters[0]', emitterName: 'kafka', dataDir: '/nonexistent', logger: createLogger('fatal'), metrics: new Registry() }),
    (err) => err instanceof ConfigError && err.path === 'audit.emitters[0].ssl.trustedStore.password' && /keytool cannot open the store/.test(err.problem),
  );
});

test('a JKS key entry with its own keyPassword is read with it, and a wrong keyPassword is named', () => {
  const keyStore = { type: 'JKS' as const, path: stores.keyPassStore, password: 'CHANGE-ME' };
  const opts = loadTlsOptions({ keyStore, keyPassword: 'KEY-PASS' });
  assert.equal(Array.isArray(opts.pfx) && opts.pfx.length, 1);
  assert.throws(() => loadTlsOptions({ keyStore, keyPassword: 'nope-nope' }), (err) => err instanceof TlsSettingError && err.key === 'keyStore.password');
});

test('config check opens the JKS stores with their passwords and names each wrong one, writing nothing', async (t) => {
  const work = await tempDir(t);
  const tmp = await tempDir(t);
  const file = join(work, 'auditstream.yaml');
  const ssl = (password: string) => ({
    keyStore: { type: 'JKS', path: stores.keyStore, password },
    trustedStore: { type: 'JKS', path: stores.trustedStore, password },
  });
  await writeFile(
    file,
    JSON.stringify({
      dataDir: join(work, 'data'),
      audit: {
        emitters: [
          { type: 'kafka', name: 'good', bootstrapServers: ['k:9093'], topic: 'a', ssl: ssl('CHANGE-ME') },
          { type: 'kafka', name: 'bad', bootstrapServers: ['k:9093'], topic: 'a', ssl: ssl('wrong-password') },
        ],
      },
    }),
  );
  // TMPDIR: where the conversion at start-up puts its PKCS12 copy. Checking must not.
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'config', 'check', '-c', file], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: tmp },
  });
  assert.equal(run.status, 2, run.stdout + run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 2, run.stderr);
  assert.match(lines[0]!, /^auditstream: config error: audit\.emitters\[1\]\.ssl\.trustedStore\.password: keytool cannot open the store/);
  assert.match(lines[1]!, /^auditstream: config error: audit\.emitters\[1\]\.ssl\.keyStore\.password: keytool cannot open the store/);
  // tsx, which runs the CLI from source here, keeps its compile cache in TMPDIR: that one is the harness's.
  assert.deepEqual((await readdir(tmp)).filter((name) => !name.startsWith('tsx-')), []);
  assert.ok(!existsSync(join(work, 'data')));
});
