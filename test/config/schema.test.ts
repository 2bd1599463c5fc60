import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import YAML from 'yaml';
import { configJsonSchema } from '../../src/cli/config-schema.js';
import { ConfigError, ConfigErrors } from '../../src/core/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { docConfigExamples, exampleFiles, ROOT } from './config-examples.js';

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsPlugin.default;

/** The schema as a user gets it: printed by the real CLI. */
function printedSchema(): Record<string, unknown> {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'config', 'schema'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A validator as an editor would use it: draft 2020-12, strict (a keyword ajv does not know is an error), formats checked. */
function compile(schema: Record<string, unknown>) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

const validate = compile(configJsonSchema());
const problems = (value: unknown) => (validate(value) ? [] : validate.errors!.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`));

/** Every problem `config check` names, as `path: message` lines. */
function configCheck(value: unknown): string[] {
  try {
    Pipeline.validate(value);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return (err instanceof ConfigErrors ? err.errors : [err]).map((e) => e.message);
  }
}

test('config schema prints draft 2020-12 JSON Schema that a strict validator compiles, with a closed schema per emitter and source type', () => {
  const schema = printedSchema();
  assert.deepEqual(schema, configJsonSchema());
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  compile(schema);
  const defs = Object.keys(schema.$defs as object).sort();
  assert.deepEqual(defs, ['emitter.audit-store', 'emitter.http', 'emitter.kafka', 'emitter.kinesis', 'emitter.log', 'emitter.s3', 'emitter.syslog', 'source.cloudwatch-export', 'source.firehose', 'source.kinesis', 'source.s3']);
});

test('defaults are shown as a user writes them, and each is valid input where it stands', () => {
  const schema = { ...configJsonSchema(), $id: 'urn:auditstream:config' };
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addSchema(schema);
  const defaults = new Map<string, unknown>();
  const walk = (node: unknown, pointer: string): void => {
    if (typeof node !== 'object' || node === null) return;
    if (!Array.isArray(node) && 'default' in node) defaults.set(pointer, node.default);
    for (const [key, child] of Object.entries(node)) if (key !== 'default') walk(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  };
  walk(schema, '');
  // Sizes and the log level are parsed through transforms, whose output-side defaults JSON Schema cannot show.
  assert.equal(defaults.get('/properties/server/properties/limits/properties/maxBodyBytes'), '5MiB');
  assert.equal(defaults.get('/properties/audit/properties/emitters/items/properties/queue/properties/maxBytes'), '1GiB');
  assert.equal(defaults.get('/$defs/emitter.s3/properties/maxObjectBytes'), '64MiB');
  assert.equal(defaults.get('/$defs/emitter.log/properties/level'), 'INFO');
  assert.equal(defaults.get('/properties/audit/properties/eventTime/properties/notBefore'), '1970-01-01T00:00:00.000Z');
  const invalid = [...defaults].filter(([pointer, value]) => !ajv.compile({ $ref: `urn:auditstream:config#${pointer}` })(value));
  assert.deepEqual(invalid, []);
});

test('every config in examples/, README.md and docs/*.md, and the empty config, is valid against the schema', () => {
  const examples = [...exampleFiles(), ...docConfigExamples()];
  assert.ok(examples.some((e) => e.where.startsWith('examples/')) && examples.some((e) => e.where.startsWith('README.md')));
  const failures = examples.flatMap((e) => {
    // Read as the server reads it: YAML, JSON with trailing commas (a Blitz block) included.
    const p = problems(YAML.parseDocument(e.text, { uniqueKeys: true }).toJS());
    return p.length === 0 ? [] : [`${e.where}:\n  ${p.join('\n  ')}`];
  });
  assert.deepEqual(failures, []);
  assert.deepEqual(problems({}), []);
});

test('sizes are numbers or text with a unit, as the server reads them', () => {
  for (const size of [1048576, '5MiB', '5 mib', '1.5GB', '64KiB']) {
    const config = { server: { limits: { maxBodyBytes: size } } };
    assert.deepEqual([problems(config), configCheck(config)], [[], []], String(size));
  }
  for (const size of ['5 parsecs', '5MB extra', -1, 0, '']) {
    const config = { server: { limits: { maxBodyBytes: size } } };
    assert.notDeepEqual(problems(config), [], `schema accepts ${JSON.stringify(size)}`);
    assert.match(configCheck(config).join('\n'), /^server\.limits\.maxBodyBytes: /, `config check accepts ${JSON.stringify(size)}`);
  }
});

const emitter = (block: Record<string, unknown>) => ({ audit: { emitters: [block] } });
const kafka = { type: 'kafka', bootstrapServers: ['k:9092'], topic: 'audit' };
const kinesisSource = { type: 'kinesis', streamName: 'audit', region: 'us-east-1' };

test('the base configs of the unknown-key cases below are valid for both', () => {
  for (const config of [emitter({ type: 'log' }), emitter(kafka), emitter({ ...kafka, sasl: { username: 'u', password: 'p' } }), { sources: [kinesisSource] }]) {
    assert.deepEqual([problems(config), configCheck(config)], [[], []], JSON.stringify(config));
  }
});

for (const [what, config, path] of [
  ['a misspelt top-level key', { dataDri: '/x' }, 'dataDri'],
  ['an unknown key in server.limits', { server: { limits: { maxBody: 5 } } }, 'server.limits.maxBody'],
  ['an unknown key in audit', { audit: { emitAtLeastOne: ['log'] } }, 'audit.emitAtLeastOne'],
  ['an unknown key in an emitter queue block', emitter({ type: 'log', queue: { maxByte: 1 } }), 'audit.emitters[0].queue.maxByte'],
  ['an unknown key on a log emitter', emitter({ type: 'log', rollover: 'daily' }), 'audit.emitters[0].rollover'],
  ['a log key on a kafka emitter', emitter({ ...kafka, logger: 'AUDIT' }), 'audit.emitters[0].logger'],
  ['a kinesis key on an s3 emitter', emitter({ type: 's3', bucket: 'audit-archive', region: 'us-east-1', streamName: 'x' }), 'audit.emitters[0].streamName'],
  ['an unknown key in a kafka sasl block', emitter({ ...kafka, sasl: { username: 'u', password: 'p', secureParam: {} } }), 'audit.emitters[0].sasl.secureParam'],
  ['an unknown key on a kinesis source', { sources: [{ ...kinesisSource, shardCount: 2 }] }, 'sources[0].shardCount'],
  ['an unknown emitter type', emitter({ type: 'splunk' }), 'audit.emitters[0].type'],
  ['an unknown source type', { sources: [{ type: 'kafka' }] }, 'sources[0].type'],
] as const) {
  test(`config check and the schema both refuse ${what}`, () => {
    const found = configCheck(config);
    assert.ok(
      found.some((line) => line.startsWith(`${path}: `)),
      `config check should name ${path}:\n${found.join('\n')}`,
    );
    assert.notDeepEqual(problems(config), [], 'the schema accepts it');
  });
}
