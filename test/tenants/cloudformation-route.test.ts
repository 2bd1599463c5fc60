import { dereference } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { startTenantApp } from '../support/tenant-app.js';

const ADMIN = 'cfn-route-admin-key-0123456789';
const VENDOR_ROLE = 'arn:aws:iam::843529240033:role/auditstream-delivery';
const HOSTED = { kinesis: 'https://vendor-templates.s3.amazonaws.com/auditstream/kinesis.yaml' };

async function get(url: string, path: string, key: string, accept?: string) {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}`, ...(accept ? { accept } : {}) } });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, disposition: res.headers.get('content-disposition'), text, body: type.startsWith('application/json') ? JSON.parse(text) : undefined };
}

test("a tenant's template: YAML by default, JSON with the quick-create link on request, its own External ID in the trust policy", async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: VENDOR_ROLE, cloudFormationTemplateUrls: HOSTED } });
  const acme = await server.addTenant('acme');
  const globex = await server.addTenant('globex');

  const yaml = await get(server.url, '/v1/tenants/acme/cloudformation/kinesis', ADMIN);
  assert.equal(yaml.status, 200);
  assert.match(yaml.type, /^application\/yaml/);
  assert.equal(yaml.disposition, 'attachment; filename="auditstream-acme-kinesis.yaml"');
  const template = parse(yaml.text, { version: '1.1' });
  const trust = template.Resources.DeliveryRole.Properties.AssumeRolePolicyDocument.Statement[0];
  assert.deepEqual(trust.Principal, { AWS: VENDOR_ROLE }, 'a role ARN is trusted as it is, not its whole account');
  assert.equal(trust.Condition.StringEquals['sts:ExternalId'], acme.externalId);
  assert.notEqual(acme.externalId, globex.externalId);
  const other = parse((await get(server.url, '/v1/tenants/globex/cloudformation/kinesis', ADMIN)).text, { version: '1.1' });
  assert.equal(other.Resources.DeliveryRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['sts:ExternalId'], globex.externalId);

  const json = await get(server.url, '/v1/tenants/acme/cloudformation/kinesis?region=eu-west-1', ADMIN, 'application/json');
  assert.equal(json.status, 200);
  assert.deepEqual(json.body.template, template);
  assert.equal(json.body.stackName, 'auditstream-acme-kinesis');
  const link = new URL(json.body.quickCreateUrl);
  assert.equal(link.origin + link.pathname, 'https://console.aws.amazon.com/cloudformation/home');
  assert.equal(link.searchParams.get('region'), 'eu-west-1');
  const [route, query] = link.hash.slice(1).split('?');
  assert.equal(route, '/stacks/create/review');
  const params = new URLSearchParams(query);
  assert.equal(params.get('templateURL'), HOSTED.kinesis);
  assert.equal(params.get('stackName'), 'auditstream-acme-kinesis');
  assert.equal(params.get('param_ExternalId'), acme.externalId, 'the link fills in the tenant\'s External ID');

  // No hosted S3 template configured: no link, the template all the same.
  const s3 = await get(server.url, '/v1/tenants/acme/cloudformation/s3', ADMIN, 'application/json');
  assert.equal(s3.status, 200);
  assert.equal(s3.body.quickCreateUrl, null);
  assert.equal(s3.body.template.Resources.Bucket.Type, 'AWS::S3::Bucket');

  // The generic template to host: the External ID is its parameter.
  const generic = await get(server.url, '/v1/cloudformation/kinesis', ADMIN, 'application/json');
  assert.equal(generic.status, 200);
  assert.deepEqual(generic.body.template.Resources.DeliveryRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition, { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } });
});

test('bad requests name what is wrong; unknown tenants and types answer 404', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: '843529240033' } });
  await server.addTenant('acme');

  const type = await get(server.url, '/v1/tenants/acme/cloudformation/kafka', ADMIN);
  assert.equal(type.status, 404);
  assert.equal(type.body.code, 'TEMPLATE_TYPE_NOT_FOUND');
  assert.match(type.body.error, /"kafka".*known: kinesis, s3/);
  assert.equal((await get(server.url, '/v1/cloudformation/log', ADMIN)).body.code, 'TEMPLATE_TYPE_NOT_FOUND');

  const missing = await get(server.url, '/v1/tenants/initech/cloudformation/s3', ADMIN);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'TENANT_NOT_FOUND');

  const region = await get(server.url, '/v1/tenants/acme/cloudformation/s3?region=mars', ADMIN, 'application/json');
  assert.equal(region.status, 400);
  assert.equal(region.body.parameter, 'region');
  const misspelt = await get(server.url, '/v1/tenants/acme/cloudformation/s3?regoin=eu-west-1', ADMIN);
  assert.equal(misspelt.status, 400);
  assert.equal(misspelt.body.code, 'QUERY_INVALID');
  assert.equal(misspelt.body.parameter, 'regoin');

  const up = await get(server.url, '/v1/tenants/acme/cloudformation/s3', ADMIN);
  assert.equal(up.status, 200, 'the server still answers');
});

test('a tenant key with read fetches its own template only; manage alone, or the generic route, is refused', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: '843529240033' } });
  const acme = await server.addTenant('acme');
  await server.addTenant('globex');
  const reader = await server.addKey('acme', ['read']);
  const manager = await server.addKey('acme', ['manage']);

  const own = await get(server.url, '/v1/tenants/acme/cloudformation/kinesis', reader, 'application/json');
  assert.equal(own.status, 200);
  assert.equal(own.body.template.Outputs.externalId.Value, acme.externalId);

  const foreign = await get(server.url, '/v1/tenants/globex/cloudformation/kinesis', reader);
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body.code, 'TENANT_NOT_FOUND', "another tenant's template is as absent as a tenant that does not exist");
  assert.ok(!foreign.text.includes('AWS::'), 'nothing of it is shown');

  const noRead = await get(server.url, '/v1/tenants/acme/cloudformation/kinesis', manager);
  assert.equal(noRead.status, 403);
  assert.match(noRead.body.error, /"read" scope/);

  const generic = await get(server.url, '/v1/cloudformation/kinesis', reader);
  assert.equal(generic.status, 403);
  assert.match(generic.body.error, /admin key/);
});

test('without tenants.vendorPrincipal the routes answer 501 naming the key; the config refuses a principal that is neither account nor ARN', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN });
  await server.addTenant('acme');
  for (const path of ['/v1/tenants/acme/cloudformation/kinesis', '/v1/cloudformation/s3']) {
    const res = await get(server.url, path, ADMIN);
    assert.equal(res.status, 501, path);
    assert.equal(res.body.code, 'NOT_CONFIGURED');
    assert.match(res.body.error, /tenants\.vendorPrincipal/);
  }
  await assert.rejects(startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: 'vendor' } }), /tenants\.vendorPrincipal.*12-digit AWS account id/s);
  await assert.rejects(startTenantApp(t, { adminKey: ADMIN, tenants: { cloudFormationTemplateUrls: { kinesis: 'http://insecure/kinesis.yaml' } } }), /cloudFormationTemplateUrls\.kinesis/);
});

test('the answers match what /openapi.json documents for the two routes', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: '843529240033', cloudFormationTemplateUrls: HOSTED } });
  await server.addTenant('acme');
  const manager = await server.addKey('acme', ['manage']);
  type Doc = { paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: object }> }> } }> };
  const doc = (await dereference((await (await fetch(`${server.url}/openapi.json`)).json()) as never)) as unknown as Doc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const cases: [string, string, string | undefined, number][] = [
    ['/v1/tenants/{tenant}/cloudformation/{type}', '/v1/tenants/acme/cloudformation/kinesis', 'application/json', 200],
    ['/v1/tenants/{tenant}/cloudformation/{type}', '/v1/tenants/acme/cloudformation/s3', 'application/json', 200],
    ['/v1/tenants/{tenant}/cloudformation/{type}', '/v1/tenants/acme/cloudformation/kafka', undefined, 404],
    ['/v1/tenants/{tenant}/cloudformation/{type}', '/v1/tenants/acme/cloudformation/s3?region=x', undefined, 400],
    ['/v1/cloudformation/{type}', '/v1/cloudformation/s3', 'application/json', 200],
    ['/v1/cloudformation/{type}', '/v1/cloudformation/kafka', undefined, 404],
  ];
  for (const [documented, path, accept, status] of cases) {
    const res = await get(server.url, path, ADMIN, accept);
    assert.equal(res.status, status, path);
    const schema = doc.paths[documented]!.get.responses[String(status)]!.content['application/json']!.schema;
    const check = ajv.compile(schema);
    assert.ok(check(res.body), `${path} ${status}: ${JSON.stringify(check.errors)}`);
  }
  const forbidden = await get(server.url, '/v1/tenants/acme/cloudformation/s3', manager);
  assert.equal(forbidden.status, 403);
  assert.ok(ajv.compile(doc.paths['/v1/tenants/{tenant}/cloudformation/{type}']!.get.responses['403']!.content['application/json']!.schema)(forbidden.body));
  const yaml = doc.paths['/v1/tenants/{tenant}/cloudformation/{type}']!.get.responses['200']!.content['application/yaml'];
  assert.ok(yaml, 'the YAML answer is documented too');
});
