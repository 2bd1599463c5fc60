import { OUTCOMES, type AuditEvent, type Outcome } from '../core/event.js';
import { InvalidEventError } from '../core/errors.js';
import { parseTime } from '../core/time.js';
import { describe, detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, type JsonObject } from './fields.js';
import type { Parser, RecordInput } from './parser.js';
import { eventId } from './record-id.js';

/** Canonical slots a generic record may fill under their own names. */
const SLOTS = ['id', 'outcome', 'actor', 'clientIp', 'sessionId', 'tenant', 'message', 'service'] as const;

/**
 * Any JSON object with a type (`type` or `eventType`) and a time (`time` or
 * `timestamp`): the format for producers auditstream has no parser for.
 */
export const genericParser: Parser = {
  name: 'generic',

  detect(value) {
    return isObject(value);
  },

  parse(input: RecordInput, value: unknown): AuditEvent[] {
    const rec = expectObject(value, 'generic');
    const typeKey = rec.type !== undefined ? 'type' : rec.eventType !== undefined ? 'eventType' : undefined;
    if (typeKey === undefined) throw new InvalidEventError('type: missing (give "type" or "eventType")');
    const timeKey = rec.time !== undefined ? 'time' : rec.timestamp !== undefined ? 'timestamp' : undefined;
    if (timeKey === undefined) throw new InvalidEventError('time: missing (give "time" or "timestamp")');
    const type = requiredString(rec, typeKey);
    const time = parseTime(rec[timeKey], timeKey);
    const id = idOf(rec);
    const consumed: string[] = [typeKey, timeKey];
    for (const slot of SLOTS) if (rec[slot] !== undefined && rec[slot] !== null) consumed.push(slot);
    return [
      makeEvent({
        id: eventId(id, input.idHint),
        time,
        type,
        source: 'generic',
        service: optionalString(rec, 'service'),
        outcome: outcomeOf(rec.outcome),
        actor: optionalString(rec, 'actor'),
        clientIp: optionalString(rec, 'clientIp'),
        sessionId: optionalString(rec, 'sessionId'),
        tenant: optionalString(rec, 'tenant'),
        message: optionalString(rec, 'message'),
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

function outcomeOf(v: unknown): Outcome {
  if (v === undefined || v === null) return 'unknown';
  if (typeof v === 'string' && (OUTCOMES as readonly string[]).includes(v)) return v as Outcome;
  throw new InvalidEventError(`outcome: expected one of ${OUTCOMES.join(', ')}, got ${describe(v)}`);
}
