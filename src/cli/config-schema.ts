import type { Command } from 'commander';
import { z, type ZodType } from 'zod';
import { configSchema } from '../config/schema.js';
import { SINKS } from '../pipeline/sink-registry.js';
import { SOURCES } from '../pipeline/source-registry.js';

type JsonSchema = { [key: string]: unknown };
interface ObjectSchema extends JsonSchema {
  properties: Record<string, JsonSchema>;
  required?: string[];
}

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/**
 * The whole config as JSON Schema (draft 2020-12), for editors to complete
 * and check YAML. It describes what a user writes (zod's `io: 'input'`):
 * sizes as numbers or "5MiB", defaults as they would be written.
 *
 * The config schema itself leaves emitters and sources open (their own keys
 * depend on `type` and are checked by each sink's and source's definition),
 * so each list's item becomes: the common keys, `type` one of the registered
 * types, and per type an if/then to a closed schema of the common keys plus
 * that type's own, which refuses unknown keys as `config check` does.
 * What only code can check (files that must exist, keys that go together,
 * names lists refer to) stays with `config check`.
 */
export function configJsonSchema(): JsonSchema {
  const root = toJsonSchema(configSchema, 'config');
  const defs: Record<string, JsonSchema> = {};
  const audit = objectAt(root, 'audit');
  const emitters = arrayAt(audit, 'emitters', 'audit.emitters');
  emitters.items = byType(emitters.items as ObjectSchema, SINKS, 'emitter', defs);
  const sources = arrayAt(root, 'sources', 'sources');
  sources.items = byType(sources.items as ObjectSchema, SOURCES, 'source', defs);
  return { $schema: DRAFT, title: 'auditstream configuration', ...root, $defs: defs };
}

function byType(common: ObjectSchema, registry: ReadonlyMap<string, { schema: ZodType }>, kind: string, defs: Record<string, JsonSchema>): JsonSchema {
  const types = [...registry.keys()].sort();
  const { additionalProperties: _open, ...base } = common;
  return {
    ...base,
    properties: { ...common.properties, type: { ...common.properties.type, enum: types } },
    allOf: types.map((type) => {
      const own = toJsonSchema(registry.get(type)!.schema, `${kind} type ${type}`);
      for (const key of Object.keys(own.properties)) {
        // The pipeline hands a component its keys without the common ones: a key of both would never reach it.
        if (key in common.properties) throw new Error(`${kind} type ${type}: its own key "${key}" is also a common ${kind} key`);
      }
      defs[`${kind}.${type}`] = {
        type: 'object',
        description: `a ${kind} of type ${type}`,
        properties: { ...common.properties, type: { const: type }, ...own.properties },
        required: [...new Set([...(common.required ?? []), ...(own.required ?? [])])],
        additionalProperties: false,
      };
      return { if: { type: 'object', properties: { type: { const: type } }, required: ['type'] }, then: { $ref: `#/$defs/${kind}.${type}` } };
    }),
  };
}

function toJsonSchema(schema: ZodType, what: string): ObjectSchema {
  const { $schema: _draft, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  // Parts are spliced into one document: a $ref or $defs of a part would point into the wrong one.
  if (JSON.stringify(json).includes('"$ref"') || '$defs' in json) throw new Error(`${what}: its JSON Schema has references, which cannot be spliced`);
  if (json.type !== 'object' || typeof json.properties !== 'object') throw new Error(`${what}: expected an object schema`);
  return json as ObjectSchema;
}

function objectAt(parent: JsonSchema, key: string): ObjectSchema {
  const child = (parent as ObjectSchema).properties?.[key];
  if (child?.type !== 'object') throw new Error(`config schema: "${key}" is not an object`);
  return child as ObjectSchema;
}

function arrayAt(parent: JsonSchema, key: string, path: string): JsonSchema {
  const child = (parent as ObjectSchema).properties?.[key];
  if (child?.type !== 'array' || typeof child.items !== 'object') throw new Error(`config schema: ${path} is not a list`);
  return child;
}

export function registerConfigSchemaCommand(config: Command): void {
  config
    .command('schema')
    .description(
      'print the JSON Schema (draft 2020-12) of the config file, for editors to complete and check it ' +
        '(e.g. auditstream config schema > auditstream.schema.json, then "# yaml-language-server: $schema=auditstream.schema.json" atop the YAML)',
    )
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
}
