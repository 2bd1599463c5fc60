import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { keepRedacted, REDACTED, redactSecrets, sealSecrets, secretsCarriedToNewEndpoint, unsealSecrets } from '../../src/tenants/destination-secrets.js';

test('the secrets of each destination type are sealed at rest, opened for the sink, and redacted in answers', () => {
  const key = randomBytes(32);
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['http', { url: 'https://h.example', auth: { bearer: 'tok-1' }, headers: { 'X-Api-Key': 'hdr-2' }, signature: { key: 'sig-3' }, secureParams: { p: 'sp-4' } }, ['tok-1', 'hdr-2', 'sig-3', 'sp-4']],
    ['http', { preset: 'datadog', datadog: { apiKey: 'dd-5' } }, ['dd-5']],
    ['kafka', { bootstrapServers: ['b:9092'], topic: 't', sasl: { username: 'u', password: 'pw-6', secureParams: { x: 'sp-7' } } }, ['pw-6', 'sp-7']],
    ['kinesis', { streamName: 's', credentials: { accessKeyId: 'AKIAPUBLIC', secretAccessKey: 'sk-8', sessionToken: 'st-9' } }, ['sk-8', 'st-9']],
    ['s3', { bucket: 'b', credentials: { accessKeyId: 'AKIAPUBLIC', secretAccessKey: 'sk-10' } }, ['sk-10']],
  ];
  for (const [type, config, secrets] of cases) {
    const sealed = sealSecrets(type, config, key);
    const text = JSON.stringify(sealed);
    for (const s of secrets) assert.ok(!text.includes(s), `${type}: ${s} is sealed`);
    assert.match(text, /enc:v1:/);
    assert.deepEqual(sealSecrets(type, sealed, key), sealed, 'sealing twice changes nothing');
    assert.deepEqual(unsealSecrets(type, sealed, key, 'd'), config);
    const shown = JSON.stringify(redactSecrets(type, sealed));
    for (const s of secrets) assert.ok(!shown.includes(s));
    assert.ok(!shown.includes('enc:v1:'), 'not even the sealed form is shown');
    assert.ok(shown.includes(REDACTED));
  }
  // Not secrets: still shown as they are.
  assert.match(JSON.stringify(redactSecrets('kinesis', cases[3]![1])), /AKIAPUBLIC/);
  assert.throws(() => unsealSecrets('http', sealSecrets('http', { auth: { bearer: 'x' } }, key), randomBytes(32), 'destination a/b'), /destination a\/b\.auth\.bearer/);
});

test('a PATCH sending back the redacted placeholder keeps the stored secret; a new value replaces it', () => {
  const stored = { url: 'https://h.example', auth: { bearer: 'old' } };
  assert.deepEqual(keepRedacted('http', { url: 'https://h2.example', auth: { bearer: REDACTED } }, stored), { url: 'https://h2.example', auth: { bearer: 'old' } });
  assert.deepEqual(keepRedacted('http', { url: 'https://h.example', auth: { bearer: 'new' } }, stored), { url: 'https://h.example', auth: { bearer: 'new' } });
});

test('a secret header whose name holds a dot is kept on a PATCH that sends it back redacted, and counts as sent again when moving', () => {
  const stored = { url: 'https://h.example', headers: { 'X.Api.Key': 'hdr-old-1' } };
  const patched = { url: 'https://h.example', headers: { 'X.Api.Key': REDACTED } };
  assert.deepEqual(keepRedacted('http', patched, stored), stored);
  const moving = { url: 'https://other.example', headers: { 'X.Api.Key': 'hdr-new-2' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', moving, stored, moving), []);
  assert.deepEqual(secretsCarriedToNewEndpoint('http', { url: 'https://other.example' }, stored, { ...stored, url: 'https://other.example' }), ['headers.X.Api.Key']);
});

test('a PATCH pointing a Kafka destination at other brokers must send its SASL secrets again; the same brokers in another order need not', () => {
  const stored = { bootstrapServers: ['b1.example:9093', 'b2.example:9093'], topic: 't', sasl: { mechanism: 'PLAIN', username: 'svc', password: 'kafka-pw-1' } };
  const elsewhere = { bootstrapServers: ['evil.example:9093'] };
  assert.deepEqual(secretsCarriedToNewEndpoint('kafka', elsewhere, stored, { ...stored, ...elsewhere }), ['sasl.password']);
  const resent = { ...elsewhere, sasl: { password: 'kafka-pw-1' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('kafka', resent, stored, { ...stored, ...resent, sasl: { ...stored.sasl, password: 'kafka-pw-1' } }), []);
  const reordered = { bootstrapServers: ['B2.example:9093, b1.example:9093'] };
  assert.deepEqual(secretsCarriedToNewEndpoint('kafka', reordered, stored, { ...stored, ...reordered }), []);
});

test('a PATCH that makes a Kafka destination log in another way (TLS dropped, another SASL mechanism) on the same brokers must send its SASL secrets again', () => {
  const stored = { bootstrapServers: ['b1.example:9093'], topic: 't', sasl: { mechanism: 'SCRAM-SHA-512', username: 'svc', password: 'kafka-pw-1' } };
  const cleartext = { securityProtocol: 'SASL_PLAINTEXT' };
  assert.deepEqual(secretsCarriedToNewEndpoint('kafka', cleartext, stored, { ...stored, ...cleartext }), ['sasl.password']);
  const plain = { sasl: { mechanism: 'PLAIN' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('kafka', plain, stored, { ...stored, sasl: { ...stored.sasl, mechanism: 'PLAIN' } }), ['sasl.password']);
  // Spelling out what was already implied (SASL_SSL with a sasl block) is no change.
  const explicit = { securityProtocol: 'SASL_SSL' };
  assert.deepEqual(secretsCarriedToNewEndpoint('kafka', explicit, stored, { ...stored, ...explicit }), []);
});

test('a PATCH that names a secureParam in a changed url or header on the same origin must send that secureParam again', () => {
  const stored = { url: 'https://intake.example/v1/logs', headers: { 'X-Key': '${key}' }, secureParams: { key: 'victim-key-1' } };
  // A shared intake stores its query (a tag): the stored key would land where the patch's author reads it.
  const tagged = { url: 'https://intake.example/v1/logs?ddtags=k:${key}' };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', tagged, stored, { ...stored, ...tagged }), ['secureParams.key']);
  const resent = { ...tagged, secureParams: { key: 'victim-key-1' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', resent, stored, { ...stored, ...resent }), []);
  // An unchanged reference (the header) and changes elsewhere in the url need nothing again.
  const moved = { url: 'https://intake.example/v2/logs' };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', moved, stored, { ...stored, ...moved }), []);
});

test('a PATCH that changes the Host header an http destination sends, directly or through the secureParam it names, must send its secrets again', () => {
  const stored = { url: 'https://203.0.113.7/hook', headers: { Host: '${site}' }, secureParams: { site: 'acme.intake.example' }, auth: { bearer: 'acme-token-1' } };
  // The url's origin is the same; the site the shared front hands the request to (and the TLS name) is not.
  const viaParam = { secureParams: { site: 'evil.intake.example' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', viaParam, stored, { ...stored, ...viaParam }), ['auth.bearer', 'headers.Host']);
  const direct = { headers: { host: 'evil.intake.example' } };
  const patched = { ...stored, headers: { Host: '${site}', host: 'evil.intake.example' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', direct, stored, patched), ['auth.bearer', 'headers.Host', 'secureParams.site']);
  // The same host, in other letters and no longer through the secureParam, moves nothing.
  const same = { headers: { Host: 'ACME.intake.example' } };
  assert.deepEqual(secretsCarriedToNewEndpoint('http', same, stored, { ...stored, ...same }), []);
});
