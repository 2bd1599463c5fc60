import { OUTCOMES, type AuditEvent, type Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { parseTime } from '../../core/time.js';
import { describe, expectObject, isObject, makeEvent, optionalString, requiredString, setField, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';

/** Canonical slots a generic record may fill under their own names. */
type Slot = 'id' | 'outcome' | 'actor' | 'clientIp' | 'sessionId' | 'tenant' | 'message' | 'service';

/**
 * Any JSON object with a type (`type` or `eventType`) and a time (`time` or
 * `timestamp`): the format for producers auditstream has no parser for.
 */
export const genericFormat: ProducerFormat<'generic'> = {
  name: 'generic',
  // Its types are the producer's own: `audit.eventTypes` lists them for include / exclude.
  eventTypes: {},

  detect(value) {
    return isObject(value);
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value, 'generic');
    const hasType = rec.type !== undefined;
    const hasTime = rec.time !== undefined;
    // One walk over the record's keys: a slot's value is set aside, every other field goes to details in
    // the record's order. A slot left empty (null, "") stays in details, as it always has.
    const taken: Partial<Record<Slot | 'type' | 'time', unknown>> = {};
    const details: JsonObject = {};
    for (const key of Object.keys(rec)) {
      const v = rec[key];
      switch (key) {
        case 'type':
          taken.type = v;
          continue;
        case 'eventType':
          if (hasType) break;
          taken.type = v;
          continue;
        case 'time':
          taken.time = v;
          continue;
        case 'timestamp':
          if (hasTime) break;
          taken.time = v;
          continue;
        case 'outcome':
          if (v === null) break;
          taken.outcome = v;
          continue;
        case 'id':
        case 'actor':
        case 'clientIp':
        case 'sessionId':
        case 'tenant':
        case 'message':
        case 'service':
          if (v === null || v === '') break;
          taken[key] = v;
          continue;
      }
      setField(details, key, v);
    }
    // Checked in a fixed order, not the record's, so that a record with several faults always names the same one.
    if (taken.type === undefined) throw new InvalidEventError('type: missing (give "type" or "eventType")');
    if (taken.time === undefined) throw new InvalidEventError('time: missing (give "time" or "timestamp")');
    const type = requiredString(taken, 'type', hasType ? 'type' : 'eventType');
    const timeKey = hasTime ? 'time' : 'timestamp';
    const time = parseTime(taken.time, timeKey, ctx.eventTime);
    const id = idOf(taken);
    const outcome = outcomeOf(taken.outcome);
    const service = optionalString(taken, 'service');
    const actor = optionalString(taken, 'actor');
    const clientIp = optionalString(taken, 'clientIp');
    const sessionId = optionalString(taken, 'sessionId');
    const tenant = optionalString(taken, 'tenant');
    const message = optionalString(taken, 'message');
    return [
      makeEvent({
        id: eventId(id, input.idHint),
        outcome: outcome ?? 'unknown',
        service,
        actor,
        clientIp,
        sessionId,
        tenant,
        message,
        time,
        type,
        source: 'generic',
        details,
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

function idOf(rec: JsonObject): string | undefined {
  if (typeof rec.id === 'number' && Number.isFinite(rec.id)) return String(rec.id);
  return optionalString(rec, 'id');
}

function outcomeOf(v: unknown): Outcome | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && (OUTCOMES as readonly string[]).includes(v)) return v as Outcome;
  throw new InvalidEventError(`outcome: expected one of ${OUTCOMES.join(', ')}, got ${describe(v)}`);
}
