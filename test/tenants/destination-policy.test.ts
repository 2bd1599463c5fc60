import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { checkDestinationPolicy, checkTenantRole, DestinationNotAllowedError, isInternalAddress, type DestinationPolicy } from '../../src/tenants/destination-policy.js';

const policy = (p: Partial<DestinationPolicy> = {}): DestinationPolicy => ({ ...parseConfig(configSchema, {}, '').tenants.destinationPolicy, ...p });
/** A resolver answering from a table, as DNS would. */
const dns = (table: Record<string, string[]>) => async (host: string) => {
  const found = table[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

async function refusal(type: string, config: Record<string, unknown>, p = policy(), resolve = dns({})): Promise<DestinationNotAllowedError> {
  try {
    await checkDestinationPolicy(type, config, p, resolve);
  } catch (err) {
    assert.ok(err instanceof DestinationNotAllowedError, String(err));
    return err;
  }
  assert.fail(`${type} ${JSON.stringify(config)} was allowed`);
}

test('local-file types and types outside allowTypes are refused, naming the type', async () => {
  for (const type of ['log', 'audit-store']) assert.match((await refusal(type, {}, policy({ allowTypes: ['log', 'audit-store'] }))).message, /local files/);
  const e = await refusal('syslog', {});
  assert.equal(e.key, 'type');
  assert.match(e.message, /allowed: kinesis, s3, kafka, http/);
});

test('http URLs, Kafka brokers and AWS endpoints may not reach loopback, private, link-local, metadata or unspecified addresses', async () => {
  const internal = ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe'];
  for (const ip of internal) {
    assert.equal(isInternalAddress(ip), true, ip);
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const e = await refusal('http', { url: `http://${host}:8080/hook` });
    assert.equal(e.key, 'url');
    assert.equal(e.code, 'DESTINATION_NOT_ALLOWED');
  }
  for (const ip of ['93.184.216.34', '2606:4700::1111', '::ffff:93.184.216.34']) assert.equal(isInternalAddress(ip), false, ip);
  assert.equal((await refusal('kafka', { bootstrapServers: ['broker.example:9092', 'kafka.internal:9092'], topic: 't' }, policy(), dns({ 'broker.example': ['93.184.216.34'], 'kafka.internal': ['10.0.0.5'] }))).key, 'bootstrapServers[1]');
  assert.equal((await refusal('kafka', { bootstrapServers: ['a.example:9092,127.0.0.1:9092'], topic: 't' }, policy(), dns({ 'a.example': ['93.184.216.34'] }))).key, 'bootstrapServers[0]');
  await checkDestinationPolicy('kafka', { bootstrapServers: ['broker.example:9092'], topic: 't' }, policy(), dns({ 'broker.example': ['93.184.216.34'] }));
});

test('a name is judged by every address it resolves to; one unresolvable is refused', async () => {
  // A name with one public and one private address could be steered to the private one.
  const e = await refusal('http', { url: 'https://hooks.example/x' }, policy(), dns({ 'hooks.example': ['93.184.216.34', '192.168.0.10'] }));
  assert.match(e.message, /hooks\.example.*192\.168\.0\.10/);
  assert.match((await refusal('http', { url: 'https://nowhere.example/x' })).message, /does not resolve/);
  await checkDestinationPolicy('http', { url: 'https://hooks.example/x' }, policy(), dns({ 'hooks.example': ['93.184.216.34', '2606:4700::1111'] }));
});

test('the real resolver: localhost is loopback, refused unless allowNetworks lists every address it resolves to', async () => {
  assert.equal((await refusal('http', { url: 'http://localhost:9/hook' }, policy(), undefined)).key, 'url');
  await checkDestinationPolicy('http', { url: 'http://localhost:9/hook' }, policy({ allowNetworks: ['127.0.0.0/8', '::1/128'] }));
});

test('allowNetworks lets listed networks through, IPv4-mapped forms included, and nothing else', async () => {
  const p = policy({ allowNetworks: ['127.0.0.1/32', 'fd12::/16'] });
  await checkDestinationPolicy('http', { url: 'http://127.0.0.1:8080/' }, p);
  await checkDestinationPolicy('http', { url: 'http://[::ffff:127.0.0.1]:8080/' }, p);
  await checkDestinationPolicy('http', { url: 'http://[fd12::5]:8080/' }, p);
  await refusal('http', { url: 'http://127.0.0.2:8080/' }, p);
  await refusal('http', { url: 'http://[fd13::5]:8080/' }, p);
  assert.throws(() => parseConfig(configSchema, { tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/33'] } } }, ''), /allowNetworks\[0\]/);
});

test('static AWS keys, endpoint overrides and local files need the operator\'s leave', async () => {
  const aws = { streamName: 's', region: 'us-east-1' };
  assert.equal((await refusal('kinesis', { ...aws, credentials: { accessKeyId: 'AKIA', secretAccessKey: 'x' } })).key, 'credentials');
  await checkDestinationPolicy('kinesis', { ...aws, credentials: { accessKeyId: 'AKIA', secretAccessKey: 'x' } }, policy({ allowStaticAwsKeys: true }));
  assert.equal((await refusal('s3', { bucket: 'b', endpoint: 'https://s3.example' }, policy(), dns({ 's3.example': ['93.184.216.34'] }))).key, 'endpoint');
  assert.equal((await refusal('kinesis', { ...aws, endpoint: 'http://127.0.0.1:4567' }, policy({ allowEndpointOverride: true }))).key, 'endpoint');
  await checkDestinationPolicy('kinesis', { ...aws, endpoint: 'http://127.0.0.1:4567' }, policy({ allowEndpointOverride: true, allowNetworks: ['127.0.0.1/32'] }));
  assert.equal((await refusal('kinesis', { ...aws, stsEndpoint: 'http://169.254.169.254/' }, policy({ allowEndpointOverride: true }))).key, 'stsEndpoint');
  assert.equal((await refusal('http', { url: 'https://93.184.216.34/', tls: { caFile: '/etc/shadow' } })).key, 'tls.caFile');
  assert.equal((await refusal('kafka', { bootstrapServers: ['93.184.216.34:9092'], topic: 't', ssl: { keyFile: '/etc/ssl/private/k.pem' } })).key, 'ssl.keyFile');
});

test("a role is assumed with the tenant's own External ID only: another one is refused naming externalId; none means the tenant's own; no role (nor keys) is refused naming roleArn", () => {
  const own = 'acme-external-id-0123456789abcdefghijklmn';
  const role = { streamName: 's', region: 'us-east-1', roleArn: 'arn:aws:iam::210987654321:role/delivery' };
  checkTenantRole('kinesis', { ...role, externalId: own }, own);
  const refused = (type: string, config: Record<string, unknown>, key = 'externalId') => assert.throws(() => checkTenantRole(type, config, own), (err) => err instanceof DestinationNotAllowedError && err.key === key);
  refused('kinesis', { ...role, externalId: 'globex-external-id-9876543210zyxwvutsrqpo' });
  refused('s3', { bucket: 'b', roleArn: role.roleArn, externalId: 'chosen-by-the-tenant' });
  // Neither a role nor keys of its own: the sink would sign with the server's AWS credentials.
  refused('kinesis', { streamName: 's', region: 'us-east-1' }, 'roleArn');
  refused('s3', { bucket: 'b', region: 'us-east-1' }, 'roleArn');
  // Its own keys are the policy's to allow (allowStaticAwsKeys), not this check's.
  checkTenantRole('kinesis', { streamName: 's', region: 'us-east-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 'x' } }, own);
  // Left out, the server fills in the tenant's own (DestinationManager.resolve).
  checkTenantRole('kinesis', role, own);
});

test('a URL holding a user or password is refused: it would be kept and shown in the clear', async () => {
  const open = dns({ 'hooks.example': ['93.184.216.34'] });
  for (const url of ['https://user:pw@hooks.example/hook', 'https://token@hooks.example/hook', 'https://:pw@hooks.example/hook']) {
    const e = await refusal('http', { url }, policy(), open);
    assert.equal(e.key, 'url');
    assert.match(e.message, /auth\.username and auth\.password/);
    assert.doesNotMatch(e.message, /pw|token/);
  }
  const e = await refusal('s3', { bucket: 'b', endpoint: 'https://AKIA:secret@hooks.example' }, policy({ allowEndpointOverride: true }), open);
  assert.equal(e.key, 'endpoint');
  await checkDestinationPolicy('http', { url: 'https://hooks.example/hook?x=1' }, policy(), open);
});

test('IPv4 written in hex, decimal, octal or short form is judged as the address it is', async () => {
  for (const host of ['0x7f000001', '2130706433', '017700000001', '127.1', '0x7f.1', '0251.0376.0251.0376', '[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]']) {
    assert.equal((await refusal('http', { url: `http://${host}:8080/hook` })).key, 'url', host);
  }
});

test('an AWS region must have the shape of one: it becomes part of the endpoint host', async () => {
  for (const region of ['evil.example', 'us-east-1.evil.example', 'us-east-1/#', 'US-EAST-1', '']) {
    assert.equal((await refusal('kinesis', { streamName: 's', region, roleArn: 'arn:aws:iam::123456789012:role/r' })).key, 'region', region);
  }
  for (const region of ['eu-west-1', 'us-gov-west-1', 'cn-north-1', 'ap-southeast-4', 'il-central-1', 'us-isob-east-1']) {
    await checkDestinationPolicy('s3', { bucket: 'b', region }, policy());
  }
});
