import { OUTCOMES, type AuditEvent, type Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { parseTime } from '../../core/time.js';
import { describe, detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';

/** Canonical slots a generic record may fill under their own names. */
const SLOTS = ['id', 'outcome', 'actor', 'clientIp', 'sessionId', 'tenant', 'message', 'service'] as const;

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
    const typeKey = rec.type !== undefined ? 'type' : rec.eventType !== undefined ? 'eventType' : undefined;
    if (typeKey === undefined) throw new InvalidEventError('type: missing (give "type" or "eventType")');
    const timeKey = rec.time !== undefined ? 'time' : rec.timestamp !== undefined ? 'timestamp' : undefined;
    if (timeKey === undefined) throw new InvalidEventError('time: missing (give "time" or "timestamp")');
    const type = requiredString(rec, typeKey);
    const time = parseTime(rec[timeKey], timeKey, ctx.eventTime);
    const slots = {
      id: idOf(rec),
      outcome: outcomeOf(rec.outcome),
      service: optionalString(rec, 'service'),
      actor: optionalString(rec, 'actor'),
      clientIp: optionalString(rec, 'clientIp'),
      sessionId: optionalString(rec, 'sessionId'),
      tenant: optionalString(rec, 'tenant'),
      message: optionalString(rec, 'message'),
    };
    const consumed: string[] = [typeKey, timeKey];
    for (const slot of SLOTS) if (slots[slot] !== undefined) consumed.push(slot);
    return [
      makeEvent({
        ...slots,
        id: eventId(slots.id, input.idHint),
        outcome: slots.outcome ?? 'unknown',
        time,
        type,
        source: 'generic',
        details: detailsExcept(rec, consumed),
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
