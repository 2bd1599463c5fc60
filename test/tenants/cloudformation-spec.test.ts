import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { KINESIS_ACTIONS, S3_BUCKET_ACTIONS, S3_OBJECT_ACTIONS, S3_PROBE_ACTIONS, TEMPLATE_TYPES } from '../../src/tenants/cloudformation.js';
import { loadCfnSpec, validatePolicy, validateTemplate, type PolicyStatement } from '../support/cfn-spec.js';
import { startTenantApp } from '../support/tenant-app.js';

const ADMIN = 'cfn-spec-admin-key-0123456789';
const VENDOR_ACCOUNT = '843529240033';
const spec = loadCfnSpec();

type Json = Record<string, any>;

async function fetchTemplate(url: string, path: string, accept?: string): Promise<{ yaml?: string; json?: Json }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN}`, ...(accept ? { accept } : {}) } });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  if (accept === 'application/json') return { json: (await res.json()) as Json };
  assert.match(res.headers.get('content-type') ?? '', /^application\/yaml/);
  return { yaml: await res.text() };
}

/** Every policy of the template, by kind; their actions and resources as written. */
function policies(template: Json) {
  const found: { where: string; kind: 'identity' | 'trust' | 'resource'; doc: Json }[] = [];
  for (const [id, r] of Object.entries<Json>(template.Resources)) {
    if (r.Type === 'AWS::IAM::Role') {
      found.push({ where: `${id}.AssumeRolePolicyDocument`, kind: 'trust', doc: r.Properties.AssumeRolePolicyDocument });
      for (const p of r.Properties.Policies ?? []) found.push({ where: `${id}.Policies.${p.PolicyName}`, kind: 'identity', doc: p.PolicyDocument });
    }
    if (r.Type === 'AWS::S3::BucketPolicy') found.push({ where: `${id}.PolicyDocument`, kind: 'resource', doc: r.Properties.PolicyDocument });
  }
  return found;
}

/** The checks every template must pass, with `externalId` the value its trust policy must require (a literal, or a Ref to its parameter). */
function assertValid(what: string, template: Json, externalId: unknown): void {
  assert.deepEqual(validateTemplate(template, spec), [], `${what} against CloudFormation specification ${spec.ResourceSpecificationVersion}`);
  const all = policies(template);
  assert.deepEqual(all.flatMap((p) => validatePolicy(`${what} ${p.where}`, p.doc, p.kind)), []);

  const trust = all.filter((p) => p.kind === 'trust');
  assert.equal(trust.length, 1, 'one role');
  const statements = trust[0]!.doc.Statement as PolicyStatement[];
  assert.equal(statements.length, 1);
  const [s] = statements;
  assert.equal(s!.Effect, 'Allow');
  assert.equal(s!.Action, 'sts:AssumeRole');
  assert.deepEqual(s!.Principal, { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${VENDOR_ACCOUNT}:root` } }, 'the vendor account, in whatever partition the stack is');
  assert.deepEqual(s!.Condition, { StringEquals: { 'sts:ExternalId': externalId } }, 'assumable only with the External ID');

  for (const p of all.filter((x) => x.kind === 'identity')) {
    for (const st of p.doc.Statement as PolicyStatement[]) {
      assert.equal(st.Effect, 'Allow');
      const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      for (const r of resources) {
        assert.notEqual(r, '*', `${what} ${p.where}: no "*" resource`);
        assert.ok(typeof r === 'object' && r !== null, `${what} ${p.where}: ${JSON.stringify(r)} names a resource of the stack`);
      }
      for (const a of [st.Action].flat()) assert.ok(!a.includes('*'), `${what} ${p.where}: action ${a} is not a wildcard`);
    }
  }
}

test('the Kinesis and S3 templates, as YAML and as JSON, per tenant and generic, are valid against the CloudFormation resource specification', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: VENDOR_ACCOUNT } });
  const tenant = await server.addTenant('acme');

  for (const type of TEMPLATE_TYPES) {
    const { yaml } = await fetchTemplate(server.url, `/v1/tenants/acme/cloudformation/${type}`);
    const { json } = await fetchTemplate(server.url, `/v1/tenants/acme/cloudformation/${type}`, 'application/json');
    // Read as CloudFormation reads it, YAML 1.1: an unquoted date would come back as a Date and fail the comparison.
    const fromYaml = parse(yaml!, { version: '1.1' }) as Json;
    assert.deepEqual(fromYaml, json!.template, `${type}: the YAML and the JSON are the same template`);
    assertValid(`${type} (YAML)`, fromYaml, tenant.externalId);
    assertValid(`${type} (JSON)`, json!.template, tenant.externalId);
    assert.equal(json!.template.Outputs.externalId.Value, tenant.externalId);
    assert.ok(!('ExternalId' in json!.template.Parameters), 'the tenant template does not ask for its External ID');

    const generic = parse((await fetchTemplate(server.url, `/v1/cloudformation/${type}`)).yaml!, { version: '1.1' }) as Json;
    assertValid(`${type} (generic)`, generic, { Ref: 'ExternalId' });
    assert.ok(!JSON.stringify(generic).includes(tenant.externalId), 'the hosted template carries no tenant\'s External ID');
  }
});

test('the roles grant what the emitters call, on the stack\'s own stream or bucket prefix only', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: VENDOR_ACCOUNT } });
  await server.addTenant('acme');
  const get = async (type: string) => (await fetchTemplate(server.url, `/v1/tenants/acme/cloudformation/${type}`, 'application/json')).json!.template;

  const kinesis = await get('kinesis');
  const [kinesisPolicy] = kinesis.Resources.DeliveryRole.Properties.Policies;
  assert.deepEqual(kinesisPolicy.PolicyDocument.Statement, [{ Sid: 'WriteAuditEvents', Effect: 'Allow', Action: KINESIS_ACTIONS, Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } }]);
  // Foxpass's published list, plus ListShards (the emitter's shard map).
  for (const a of ['kinesis:DescribeStream', 'kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:ListShards']) assert.ok(KINESIS_ACTIONS.includes(a), a);
  assert.deepEqual(kinesis.Resources.Stream.Properties.StreamEncryption, { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
  assert.deepEqual(Object.keys(kinesis.Outputs).sort(), ['externalId', 'region', 'roleArn', 'streamArn', 'streamName']);

  const s3 = await get('s3');
  const statements = s3.Resources.DeliveryRole.Properties.Policies[0].PolicyDocument.Statement as PolicyStatement[];
  assert.deepEqual(
    statements.map((s) => [s.Action, s.Resource]),
    [
      [S3_OBJECT_ACTIONS, { 'Fn::Sub': '${Bucket.Arn}/${Prefix}/*' }],
      [S3_BUCKET_ACTIONS, { 'Fn::GetAtt': ['Bucket', 'Arn'] }],
      [S3_PROBE_ACTIONS, { 'Fn::Sub': '${Bucket.Arn}/${Prefix}/.auditstream-check' }],
    ],
  );
  const bucket = s3.Resources.Bucket.Properties;
  assert.deepEqual(bucket.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  assert.equal(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
  assert.deepEqual(Object.keys(s3.Outputs).sort(), ['bucket', 'externalId', 'prefix', 'region', 'roleArn']);
});

test('the checker finds what is wrong: it is not a check that cannot fail', async (t) => {
  const server = await startTenantApp(t, { adminKey: ADMIN, tenants: { vendorPrincipal: VENDOR_ACCOUNT } });
  await server.addTenant('acme');
  const good = (await fetchTemplate(server.url, '/v1/tenants/acme/cloudformation/s3', 'application/json')).json!.template as Json;
  const broken = (change: (tpl: Json) => void): string[] => {
    const tpl = structuredClone(good);
    change(tpl);
    return validateTemplate(tpl, spec);
  };
  const finds = (problems: string[], pattern: RegExp) => assert.ok(problems.some((p) => pattern.test(p)), `expected ${pattern} in ${JSON.stringify(problems)}`);

  finds(broken((x) => (x.Resources.Bucket.Type = 'AWS::S3::Bukket')), /AWS::S3::Bukket is not a resource type/);
  finds(broken((x) => (x.Resources.Bucket.Properties.Versioned = true)), /Bucket\.Properties\.Versioned: not a property/);
  finds(broken((x) => delete x.Resources.BucketPolicy.Properties.PolicyDocument), /PolicyDocument: required/);
  finds(broken((x) => (x.Resources.Bucket.Properties.PublicAccessBlockConfiguration.BlockPublicAcls = 'yes')), /BlockPublicAcls: expected Boolean/);
  finds(broken((x) => (x.Resources.Bucket.Properties.OwnershipControls.Rules = { ObjectOwnership: 'BucketOwnerEnforced' })), /Rules: expected a list/);
  finds(broken((x) => (x.Outputs.roleArn.Value = { 'Fn::GetAtt': ['DeliveryRole', 'Name'] })), /has no attribute "Name"/);
  finds(broken((x) => (x.Outputs.bucket.Value = { Ref: 'Bukket' })), /Ref to "Bukket"/);
  finds(broken((x) => (x.Outputs.prefix.Value = { 'Fn::Sub': '${Prefx}/' })), /Ref to "Prefx"/);
  finds(broken((x) => (x.Resources.Bucket.Properties.LifecycleConfiguration['Fn::If'][0] = 'Expired')), /condition "Expired" is not in Conditions/);
  finds(broken((x) => (x.Parameters.Prefix.Default = 'a//b')), /Parameters\.Prefix\.Default: "a\/\/b" does not match AllowedPattern/);
  finds(broken((x) => delete x.Outputs.region.Value), /Outputs\.region: an output needs a Value/);

  const policy = good.Resources.DeliveryRole.Properties.Policies[0].PolicyDocument as Json;
  const wild = { ...policy, Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Principal: { AWS: '*' } }] };
  const problems = validatePolicy('p', wild, 'identity');
  finds(problems, /Resource is required/);
  finds(problems, /names no Principal/);
  finds(validatePolicy('p', { ...policy, Version: '2008-10-17' }, 'identity'), /Version must be "2012-10-17"/);
});
