import { ConfigError } from '../core/errors.js';
import { eventTypeProblem, knownEventTypes } from '../formats/event-type-catalog.js';
import type { EmitterCommonConfig } from '../config/schema.js';
import { auditSchema, COMMON_EMITTER_KEYS, DEFAULT_EMITTERS, emitterCommonSchema } from '../config/schema.js';
import { checkConfig, configErrors } from '../config/validate.js';
import type { SinkType } from '../sinks/sink.js';

export interface ResolvedEmitter {
  /** Where it stands in the config, for error messages: `audit.emitters[2]`. */
  path: string;
  name: string;
  common: EmitterCommonConfig;
  definition: SinkType<unknown>;
  sinkConfig: unknown;
}

/**
 * The queue holds an event as its canonical JSON: the record once as `raw`
 * (JSON-escaped, so a `\"` in the record takes 4 bytes) and once as parsed
 * fields. Measured worst case: 3× the record, plus the id and time.
 */
const QUEUED_EVENT_FACTOR = 3;
const QUEUED_EVENT_OVERHEAD = 4096;

/** The smallest queue.maxBytes that holds one ingested event of `maxEventBytes`. */
export function minQueueBytes(maxEventBytes: number): number {
  return QUEUED_EVENT_FACTOR * maxEventBytes + QUEUED_EVENT_OVERHEAD;
}

export interface EmitterValidation {
  sinks: ReadonlyMap<string, SinkType<unknown>>;
  /** Absolute; sinks derive paths from it. */
  dataDir: string;
  /** server.limits.maxEventBytes, when it is valid: every queue must hold one such event. */
  maxEventBytes: number | undefined;
  /**
   * Report the common keys' (include, queue, retry, batch, …) problems here:
   * for blocks no config schema has judged, as a tenant's destination.
   */
  reportCommonKeys?: boolean;
}

/**
 * Checks every emitter block and the policy lists, adding every problem to
 * `errors` with its key path: unknown types, duplicate names, unknown event
 * types in include/exclude, queues too small for one event, the sink's own
 * keys (strictly) and its validate step, and policy lists naming no emitter.
 *
 * `audit` is the config's raw `audit` block: an emitter whose common keys are
 * wrong (reported by the config schema, not again here, unless
 * `reportCommonKeys`) still has its sink's keys checked, so one run names
 * every problem.
 */
export function resolveEmitters(audit: Record<string, unknown>, v: EmitterValidation, errors: ConfigError[]): ResolvedEmitter[] {
  const blocks = audit.emitters === undefined ? DEFAULT_EMITTERS : audit.emitters;
  if (!Array.isArray(blocks)) return [];
  const eventTypes = quietly(auditSchema.shape.eventTypes, audit.eventTypes);
  const known = eventTypes && knownEventTypes(eventTypes);
  const seen = new Map<string, string>();
  let unnamed = false;
  const out: ResolvedEmitter[] = [];
  blocks.forEach((block: unknown, i) => {
    const path = `audit.emitters[${i}]`;
    const before = errors.length;
    const common = v.reportCommonKeys ? checkConfig(emitterCommonSchema, block, path, errors) : quietly(emitterCommonSchema, block);
    const raw = isRecord(block) ? block : {};
    const type = typeof raw.type === 'string' ? raw.type : undefined;
    const definition = type === undefined ? undefined : v.sinks.get(type);
    if (type !== undefined && type !== '' && !definition) {
      errors.push(new ConfigError(`${path}.type`, `unknown emitter type "${type}" (known: ${[...v.sinks.keys()].sort().join(', ')})`));
    }
    // As in Blitz, an emitter without a name is named after its type.
    const name = common ? (common.name ?? common.type) : undefined;
    if (name === undefined) unnamed = true;
    else {
      const earlier = seen.get(name);
      if (earlier) errors.push(new ConfigError(`${path}.name`, `duplicate emitter name "${name}" (also ${earlier}); give each emitter a distinct name`));
      else seen.set(name, path);
    }
    if (common && known) {
      for (const list of ['include', 'exclude'] as const) {
        common[list]?.forEach((entry, j) => {
          const problem = eventTypeProblem(entry, known);
          if (problem) errors.push(new ConfigError(`${path}.${list}[${j}]`, problem));
        });
      }
    }
    if (common && v.maxEventBytes !== undefined && common.queue.maxBytes < minQueueBytes(v.maxEventBytes)) {
      const need = minQueueBytes(v.maxEventBytes);
      errors.push(
        new ConfigError(
          `${path}.queue.maxBytes`,
          `${common.queue.maxBytes} bytes cannot hold one event of server.limits.maxEventBytes (${v.maxEventBytes} bytes), ` +
            `which is queued with its parsed fields as up to ${need} bytes; set at least ${need} or lower server.limits.maxEventBytes`,
        ),
      );
    }
    let sinkConfig: unknown;
    if (definition) {
      const rest: Record<string, unknown> = { ...raw };
      for (const key of COMMON_EMITTER_KEYS) delete rest[key];
      const sinkErrors: ConfigError[] = [];
      sinkConfig = checkConfig(definition.schema, rest, path, sinkErrors);
      // The validate step may read files the keys name: only once the keys themselves are right.
      if (sinkErrors.length === 0 && definition.validate) {
        sinkErrors.push(...configErrors(path, definition.validate(sinkConfig, { emitterName: name ?? type!, dataDir: v.dataDir })));
      }
      errors.push(...sinkErrors);
      const inFlight = common?.batch?.maxInFlight;
      const ordered = sinkErrors.length === 0 && inFlight !== undefined && inFlight > 1 ? definition.orderedBy?.(sinkConfig) : undefined;
      if (ordered) {
        // Refused rather than lowered quietly: a config asking for both would get only one of them.
        errors.push(
          new ConfigError(
            `${path}.batch.maxInFlight`,
            `must be 1 with ${ordered.key}: ${ordered.value}: events of one key are delivered in queue order, which ${inFlight} batches in flight would break ` +
              `(a retried batch could land after a later one); remove batch.maxInFlight or set it to 1`,
          ),
        );
      }
    }
    if (common && definition && errors.length === before) out.push({ path, name: name!, common, definition, sinkConfig });
  });
  // An emitter whose name could not be read might be the one a list names: say nothing rather than something false.
  if (!unnamed) {
    for (const list of ['emitAtLeastOneOf', 'emitToAllOf'] as const) {
      quietly(auditSchema.shape[list], audit[list])?.forEach((name, j) => {
        if (!seen.has(name)) errors.push(new ConfigError(`audit.${list}[${j}]`, `no emitter named "${name}" (emitters: ${[...seen.keys()].join(', ')})`));
      });
    }
  }
  return out;
}

/** Parses a part the config schema has already judged (and reported); undefined when it is wrong. */
export function quietly<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, value: unknown): T | undefined {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
