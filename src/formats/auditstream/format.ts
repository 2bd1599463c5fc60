import { OUTCOMES, type AuditEvent } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { parseTime } from '../../core/time.js';
import { describe, isObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { checkedEventId } from '../parse-helpers/record-id.js';

const REQUIRED_STRINGS = ['id', 'time', 'type', 'source', 'raw'] as const;
const OPTIONAL_STRINGS = ['service', 'actor', 'clientIp', 'sessionId', 'tenant', 'message'] as const;
const FIELDS: ReadonlySet<string> = new Set([...REQUIRED_STRINGS, ...OPTIONAL_STRINGS, 'outcome', 'details', 'origin']);

/**
 * auditstream's own canonical event, as its Kinesis, Kafka, S3 and log
 * emitters write it (codec json). Kept as it is — same id, source, raw — so
 * publisher → stream → collector round-trips and dedupe works across hops.
 * Only the exact shape is taken for one: a record with another field, or a
 * slot of another type, would lose it here, so under `parse: auto` it goes to
 * the next parser (generic keeps every field) and `parse: auditstream` names it.
 */
export const auditstreamFormat: ProducerFormat<'auditstream'> = {
  name: 'auditstream',
  // Its events keep the source and type they were written with: that source's catalogue holds the type.
  eventTypes: {},

  detect(value) {
    return shapeProblem(value) === undefined;
  },

  parse(_input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const problem = shapeProblem(value);
    if (problem !== undefined) throw new InvalidEventError(`not an auditstream event: ${problem}`);
    const v = value as Record<string, unknown>;
    const event: AuditEvent = {
      id: checkedEventId(v.id as string, 'id'),
      time: parseTime(v.time, 'time', ctx.eventTime),
      type: v.type as string,
      source: v.source as string,
      outcome: v.outcome as AuditEvent['outcome'],
      details: v.details as Record<string, unknown>,
      raw: v.raw as string,
    };
    for (const key of OPTIONAL_STRINGS) {
      if (v[key] !== undefined) event[key] = v[key] as string;
    }
    if (v.origin !== undefined) event.origin = v.origin as Record<string, string>;
    return [event];
  },
};

/** Why `value` is not an event exactly as auditstream writes one, or undefined when it is. */
function shapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `expected a JSON object, got ${describe(value)}`;
  // The cheap checks first: this runs on every record under parse: auto.
  for (const key of REQUIRED_STRINGS) if (typeof value[key] !== 'string') return `${key}: expected a string, got ${describe(value[key])}`;
  if (!OUTCOMES.includes(value.outcome as never)) return `outcome: expected one of ${OUTCOMES.join(', ')}, got ${describe(value.outcome)}`;
  if (!isObject(value.details)) return `details: expected an object, got ${describe(value.details)}`;
  for (const key of OPTIONAL_STRINGS) {
    if (value[key] !== undefined && typeof value[key] !== 'string') return `${key}: expected a string, got ${describe(value[key])}`;
  }
  const origin = value.origin;
  if (origin !== undefined && !(isObject(origin) && Object.values(origin).every((o) => typeof o === 'string'))) {
    return `origin: expected an object of strings, got ${describe(origin)}`;
  }
  for (const key of Object.keys(value)) if (!FIELDS.has(key)) return `${key}: not a field of an auditstream event`;
  return undefined;
}
