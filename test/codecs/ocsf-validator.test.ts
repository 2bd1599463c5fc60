import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { officialOcsf, problemText, type OcsfSchema } from '../support/ocsf-schema.js';

// The official schema and examples sit beside the repository (../shared/ocsf), never inside it.
const official = officialOcsf(join(import.meta.dirname, '..', '..', '..', 'shared', 'ocsf'));
const skip = 'skip' in official ? official.skip : false;

function schema(): OcsfSchema {
  if ('skip' in official) throw new Error(official.skip);
  return official.schema;
}

function example(name: string): Record<string, any> {
  if ('skip' in official) throw new Error(official.skip);
  return JSON.parse(readFileSync(join(official.examplesDir, name), 'utf8'));
}

/** Each problem as `path: message`, warnings marked, sorted so the order of keys in a file does not matter. */
function findings(event: unknown): string[] {
  return schema()
    .validate(event)
    .map((p) => (p.severity === 'warning' ? `warning ${problemText(p)}` : problemText(p)))
    .sort();
}

const NULL_STRING = 'expected a string_t, got null';

/**
 * The official examples that break the schema, with what breaks it: null for
 * string attributes and for whole objects' only identifying attribute,
 * captions that are not the enum's, a type_uid that does not add up.
 */
const BROKEN: Record<string, string[]> = {
  '1_1_0_OCSF_account_change.ocsf.json': [
    `actor.idp.name: ${NULL_STRING}`,
    'actor.idp: Identity Provider needs at least one of name, uid',
    `actor.invoked_by: ${NULL_STRING}`,
    `actor.user.credential_uid: ${NULL_STRING}`,
    `api.response.error: ${NULL_STRING}`,
    `api.response.message: ${NULL_STRING}`,
    `api.version: ${NULL_STRING}`,
    `src_endpoint.uid: ${NULL_STRING}`,
    'warning category_name: "Identity & Access Management Category" is not the caption of category_uid 3 ("Identity & Access Management")',
    'warning observables[0].type: "User" is not the caption of type_id 4 ("User Name")',
  ],
  '1_1_0_OCSF_api_activity.ocsf.json': [
    `actor.idp.name: ${NULL_STRING}`,
    'actor.idp: Identity Provider needs at least one of name, uid',
    `actor.invoked_by: ${NULL_STRING}`,
    'actor.session.created_time_dt: expected a datetime_t, got null',
    `actor.session.issuer: ${NULL_STRING}`,
    `api.response.error: ${NULL_STRING}`,
    `api.response.message: ${NULL_STRING}`,
    `api.version: ${NULL_STRING}`,
    `metadata.product.feature.name: ${NULL_STRING}`,
    'metadata.product.feature: Feature needs at least one of name, uid',
    `status: ${NULL_STRING}`,
    'warning observables[0].type: "User" is not the caption of type_id 4 ("User Name")',
  ],
  '1_1_0_OCSF_authentication.ocsf.json': [
    `actor.idp.name: ${NULL_STRING}`,
    'actor.idp: Identity Provider needs at least one of name, uid',
    `actor.invoked_by: ${NULL_STRING}`,
    `actor.session.issuer: ${NULL_STRING}`,
    `actor.user.credential_uid: ${NULL_STRING}`,
    `api.response.error: ${NULL_STRING}`,
    `api.response.message: ${NULL_STRING}`,
    `api.version: ${NULL_STRING}`,
    'session.expiration_time: expected a timestamp_t, got null',
    'warning category_name: "Identity & Access Management Category" is not the caption of category_uid 3 ("Identity & Access Management")',
  ],
  // A fully qualified name with its root dot: the schema's hostname_t pattern has no trailing dot.
  '1_1_0_route53.ocsf.json': ['query.hostname: not a hostname_t: "ip-127-0-0-62.alert.firewall.canary."'],
  '1_1_0_vpcflow.ocsf.json': [
    'type_uid: 400106 is not class_uid × 100 + activity_id (400105)',
    'warning action: "REJECT" is not the caption of action_id 2 ("Denied")',
    'warning activity_name: "Traffic" is not the caption of activity_id 5 ("Refuse")',
  ],
};

function exampleNames(): string[] {
  if ('skip' in official) return [];
  const dir = official.examplesDir;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();
}

test('the official examples that keep to the schema validate without a finding', { skip }, () => {
  const valid = exampleNames().filter((f) => !Object.hasOwn(BROKEN, f));
  assert.ok(valid.length >= 4, `the examples hold valid events of several classes (found ${valid.join(', ')})`);
  const classes = new Set<number>();
  for (const name of valid) {
    const event = example(name);
    classes.add(event.class_uid);
    assert.deepEqual(findings(event), [], name);
  }
  assert.deepEqual([...classes].sort(), [3001, 3002, 4001, 6003], 'valid examples of every class the codec writes but Base Event');
});

test('the official examples that break the schema get exactly their problems named', { skip }, () => {
  assert.deepEqual(Object.keys(BROKEN).filter((name) => !exampleNames().includes(name)), [], 'every broken example is in the set');
  for (const [name, expected] of Object.entries(BROKEN)) assert.deepEqual(findings(example(name)), [...expected].sort(), name);
});

test('each kind of break in a valid example is caught and named by its path', { skip }, () => {
  const base = example('aws-mappings-v1.1.0/authentication.ocsf.json');
  assert.deepEqual(findings(base), []);
  const mutated = (change: (e: Record<string, any>) => void): string[] => {
    const e = structuredClone(base);
    change(e);
    return findings(e);
  };
  assert.deepEqual(mutated((e) => delete e.metadata.product.vendor_name), ['metadata.product.vendor_name: required'], 'required attribute of an object');
  assert.deepEqual(mutated((e) => delete e.severity_id), ['severity_id: required'], 'required attribute of the class');
  assert.deepEqual(mutated((e) => (e.time = '2023-11-10T11:24:34Z')), ['time: expected a timestamp_t, got string "2023-11-10T11:24:34Z"'], 'wrong type');
  assert.deepEqual(mutated((e) => (e.is_mfa = 'true')), ['is_mfa: expected a boolean_t, got string "true"'], 'boolean');
  assert.deepEqual(mutated((e) => (e.observables = e.observables[0])), ['observables: expected an array, each an observable object, got an object'], 'is_array');
  assert.deepEqual(mutated((e) => (e.metadata.profiles = [...e.metadata.profiles, 3])), ['metadata.profiles[2]: expected a string_t, got number 3'], 'array element');
  assert.deepEqual(mutated((e) => (e.severity_id = 7)), ['severity_id: 7 is not one of severity_id\'s values (0, 1, 2, 3, 4, 5, 6, 99)'], 'bad enum');
  assert.deepEqual(mutated((e) => (e.activity_id = 2)), ['type_uid: 300201 is not class_uid × 100 + activity_id (300202)', 'warning activity_name: "Logon" is not the caption of activity_id 2 ("Logoff")'], 'activity changed alone');
  assert.deepEqual(mutated((e) => (e.type_uid = 300299)), ['type_uid: 300299 is not class_uid × 100 + activity_id (300201)', 'warning type_name: "Authentication: Logon" is not the caption of type_uid 300299 ("Authentication: Other")'], 'wrong type_uid');
  assert.deepEqual(mutated((e) => (e.category_uid = 6)), ['category_uid: 6 is not one of category_uid\'s values (3)'], 'category of another class');
  assert.deepEqual(mutated((e) => (e.class_uid = 9999)), ['class_uid: 9999 is not a class of the schema']);
  assert.deepEqual(mutated((e) => (e.src_endpoint.ip = '192.0.2.300')), ['src_endpoint.ip: not an ip_t: "192.0.2.300"'], 'ip_t pattern');
  assert.deepEqual(mutated((e) => (e.src_endpoint.hostname = 'AWS Internal')), ['src_endpoint.hostname: not a hostname_t: "AWS Internal"'], 'hostname_t pattern');
  assert.deepEqual(mutated((e) => (e.src_endpoint.port = 70000)), ["src_endpoint.port: 70000 is outside port_t's range 0..65535"], 'port_t range');
  assert.deepEqual(mutated((e) => (e.src_endpoint = { domain: 'corp' })), ['src_endpoint: Network Endpoint needs at least one of ip, uid, name, hostname, svc_name, instance_uid, interface_uid, interface_name'], 'object at_least_one');
  assert.deepEqual(mutated((e) => (e.actor = {})), ['actor: Actor needs at least one of process, user, invoked_by, session'], 'actor at_least_one');
  assert.deepEqual(mutated((e) => delete e.dst_endpoint), ['(event): Authentication needs at least one of service, dst_endpoint'], 'class at_least_one');
  assert.deepEqual(mutated((e) => (e.src_endpoint.address = '192.0.2.0')), ['src_endpoint.address: not an attribute of Network Endpoint (network_endpoint)'], 'unknown attribute');
  assert.deepEqual(mutated((e) => (e.user.name = null)), [`user.name: expected a username_t, got null`], 'null is no value of a type');
  assert.deepEqual(mutated((e) => (e.unmapped = { anything: [1, { goes: null }] })), [], 'unmapped is free-form');
  assert.deepEqual(
    mutated((e) => (e.metadata.profiles = ['datetime'])),
    [
      'warning api: belongs to the cloud profile, which metadata.profiles does not list',
      'warning cloud: belongs to the cloud profile, which metadata.profiles does not list',
    ],
    'profile not listed',
  );
  assert.deepEqual(mutated((e) => (e.metadata.product.feature.name = 'x'.repeat(65536))), ['metadata.product.feature.name: longer than 65535 characters (string_t)'], 'max_len');
  assert.deepEqual(mutated((e) => (e.http_request.x_forwarded_for = ['192.0.2.1'])), [], 'an array of ip_t');
  assert.deepEqual(mutated((e) => (e.http_request.x_forwarded_for = ['proxy'])), ['http_request.x_forwarded_for[0]: not an ip_t: "proxy"'], 'array element path');
});

test("a class's just_one constraint takes exactly one of its attributes", { skip }, () => {
  const session = {
    class_uid: 3003,
    category_uid: 3,
    activity_id: 1,
    type_uid: 300301,
    severity_id: 1,
    time: 1700000000000,
    metadata: { version: '1.1.0', product: { name: 'Directory', vendor_name: 'Acme' } },
    user: { name: 'alice' },
  };
  const exactlyOne = '(event): Authorize Session needs exactly one of privileges, group';
  assert.deepEqual(findings({ ...session, privileges: ['SeDebugPrivilege'] }), []);
  assert.deepEqual(findings({ ...session, group: { name: 'admins' } }), []);
  assert.deepEqual(findings({ ...session, privileges: ['SeDebugPrivilege'], group: { name: 'admins' } }), [exactlyOne]);
  assert.deepEqual(findings(session), [exactlyOne]);
});

test('a deprecated attribute is a warning, not an error', { skip }, () => {
  const base = example('aws-mappings-v1.1.0/authentication.ocsf.json');
  const withDeprecated = structuredClone(base);
  withDeprecated.metadata.extension = { name: 'acme', uid: '999', version: '1.0.0' };
  const problems = schema().validate(withDeprecated);
  assert.deepEqual(
    problems.map((p) => [p.severity, problemText(p)]),
    [['warning', 'metadata.extension: deprecated since 1.1.0: Use the extensions attribute instead.']],
  );
});
