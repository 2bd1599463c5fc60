import { ConfigError } from '../core/errors.js';
import { eventTypeProblem, knownEventTypes } from '../core/event-types.js';
import type { AuditstreamConfig, EmitterCommonConfig } from '../config/schema.js';
import { COMMON_EMITTER_KEYS } from '../config/schema.js';
import { parseConfig } from '../config/validate.js';
import type { SinkDefinition } from '../sinks/sink.js';

export interface ResolvedEmitter {
  /** Where it stands in the config, for error messages: `audit.emitters[2]`. */
  path: string;
  name: string;
  common: EmitterCommonConfig;
  definition: SinkDefinition<unknown>;
  sinkConfig: unknown;
}

/**
 * Checks every emitter block and the policy lists, naming the bad key:
 * unknown types, duplicate names, unknown event types in include/exclude,
 * the sink's own keys (strictly), and policy lists naming no emitter.
 */
export function resolveEmitters(audit: AuditstreamConfig['audit'], sinks: ReadonlyMap<string, SinkDefinition<unknown>>): ResolvedEmitter[] {
  const known = knownEventTypes(audit.eventTypes);
  const seen = new Map<string, string>();
  const out = audit.emitters.map((common, i) => {
    const path = `audit.emitters[${i}]`;
    const definition = sinks.get(common.type);
    if (!definition) {
      throw new ConfigError(`${path}.type`, `unknown emitter type "${common.type}" (known: ${[...sinks.keys()].sort().join(', ')})`);
    }
    // Seed 002: "If the setting is not specified, log and kafka are used as receiver names".
    const name = common.name ?? common.type;
    const earlier = seen.get(name);
    if (earlier) {
      throw new ConfigError(`${path}.name`, `duplicate emitter name "${name}" (also ${earlier}); give each emitter a distinct name`);
    }
    seen.set(name, path);
    for (const list of ['include', 'exclude'] as const) {
      common[list]?.forEach((entry, j) => {
        const problem = eventTypeProblem(entry, known);
        if (problem) throw new ConfigError(`${path}.${list}[${j}]`, problem);
      });
    }
    const rest: Record<string, unknown> = { ...common };
    for (const key of COMMON_EMITTER_KEYS) delete rest[key];
    const sinkConfig = parseConfig(definition.schema, rest, path);
    return { path, name, common, definition, sinkConfig };
  });
  for (const list of ['emitAtLeastOneOf', 'emitToAllOf'] as const) {
    audit[list]?.forEach((name, j) => {
      if (!seen.has(name)) {
        throw new ConfigError(`audit.${list}[${j}]`, `no emitter named "${name}" (emitters: ${[...seen.keys()].join(', ')})`);
      }
    });
  }
  return out;
}
