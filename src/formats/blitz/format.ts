import type { AuditEvent } from '../../core/event.js';
import { InvalidEventError, errorMessage } from '../../core/errors.js';
import { detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, requiredTime, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { BLITZ_EVENT_TYPES, BLITZ_FAILURE_TYPES } from './event-types.js';
import { blitzOcsf } from './ocsf.js';

/** Attributes only Blitz records carry; with a `timestamp` they identify a Blitz record whose type is not in the catalog yet. */
const BLITZ_MARKERS = ['subject_id', 'object_id', 'lp_id', 'auth_methods', 'ip_ctr', 'id_store', 'process_id'];

/**
 * Blitz Identity Provider security events (docs/producers.md): the JSON object, or a
 * whole line of the AUDIT logback file
 * (`2023-11-20 13:29:47,170 - [INFO] -[LoggerEventEmitterDriver.scala:37] - {json}`),
 * whose prefix is dropped; `raw` keeps the whole line.
 */
export const blitzFormat: ProducerFormat<'blitz'> = {
  name: 'blitz',
  eventTypes: { types: BLITZ_EVENT_TYPES },
  ocsf: blitzOcsf,

  detect(value, text) {
    if (value === undefined) return logbackJsonStart(text) >= 0;
    if (!isObject(value) || value.timestamp === undefined) return false;
    if (typeof value.type === 'string' && Object.hasOwn(BLITZ_EVENT_TYPES, value.type)) return true;
    return BLITZ_MARKERS.some((k) => value[k] !== undefined);
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value === undefined ? fromLogbackLine(input.text) : value, 'Blitz');
    const type = requiredString(rec, 'type');
    const time = requiredTime(rec, 'timestamp', ctx);
    const subjectId = optionalString(rec, 'subject_id');
    const usedLogin = optionalString(rec, 'used_login');
    const ip = optionalString(rec, 'ip');
    const sessionId = optionalString(rec, 'session_id');
    const id = naturalId(rec);
    const failed = BLITZ_FAILURE_TYPES.has(type) || (rec.error !== undefined && rec.error !== null && rec.error !== '');
    const consumed = ['type', 'timestamp'];
    if (id !== undefined) consumed.push('id');
    if (ip !== undefined) consumed.push('ip');
    if (sessionId !== undefined) consumed.push('session_id');
    if (subjectId !== undefined) consumed.push('subject_id');
    else if (usedLogin !== undefined) consumed.push('used_login');
    return [
      makeEvent({
        id: eventId(id, input.idHint),
        time,
        type,
        source: 'blitz',
        outcome: failed ? 'failure' : 'success',
        actor: subjectId ?? usedLogin,
        clientIp: ip,
        sessionId,
        details: detailsExcept(rec, consumed),
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

function naturalId(rec: JsonObject): string | undefined {
  if (typeof rec.id === 'number' && Number.isFinite(rec.id)) return String(rec.id);
  return optionalString(rec, 'id');
}

/**
 * Index of the JSON in a logback line, or -1. The pattern
 * `%date - [%level] -[%file:%line] - %message` puts `] - {` right before the
 * message; checked by hand because this runs on every text record under auto.
 */
function logbackJsonStart(text: string): number {
  if (text.length < 24 || !isDigit(text.charCodeAt(0)) || !isDigit(text.charCodeAt(3)) || text.charCodeAt(4) !== 45 /* - */) return -1;
  const i = text.indexOf('] - {');
  return i < 0 ? -1 : i + 4;
}

function fromLogbackLine(text: string): unknown {
  const start = logbackJsonStart(text);
  if (start < 0) throw new InvalidEventError('record: neither a Blitz JSON object nor a Blitz logback line ("<date> - [LEVEL] -[file:line] - {json}")');
  try {
    return JSON.parse(text.slice(start));
  } catch (err) {
    throw new InvalidEventError(`record: the JSON after the logback prefix is invalid: ${errorMessage(err)}`);
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
