import type { AuditEvent, Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { EARLIEST_TIME_MS, LATEST_TIME_MS, parseTime } from '../../core/time.js';
import { describe, detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, requiredTime, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { TEMPORAL_NAMESPACE } from './event-types.js';
import { temporalOcsf } from './ocsf.js';

/**
 * Temporal Cloud audit log records (docs/formats.md), both generations:
 * v1 (snake_case, `emit_time` as RFC 3339) and v2 (camelCase, `emitTime` as
 * `{seconds, nanos}`, `xForwardedFor`, `rawDetails`, `version`).
 * `status`, the caller list, `principal` and v2's `emitTime` stay in details
 * even though canonical slots draw on them, because those slots keep only part
 * of each (failure vs. the status code, the first of several proxies'
 * addresses, the principal's name, milliseconds of a nanosecond time).
 */
export const temporalFormat: ProducerFormat<'temporal'> = {
  name: 'temporal',
  eventTypes: { openNamespace: TEMPORAL_NAMESPACE },
  ocsf: temporalOcsf,

  detect(value) {
    return isObject(value) && value.operation !== undefined && (value.emit_time !== undefined || value.emitTime !== undefined);
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value, 'Temporal');
    return [rec.emit_time === undefined && rec.emitTime !== undefined ? parseV2(input, rec, ctx) : parseV1(input, rec, ctx)];
  },
};

function parseV1(input: RecordInput, rec: JsonObject, ctx: ParseContext): AuditEvent {
  const operation = requiredString(rec, 'operation');
  const time = requiredTime(rec, 'emit_time', ctx);
  const logId = optionalString(rec, 'log_id');
  const callers = optionalString(rec, 'caller_ip_address');
  const userEmail = optionalString(rec, 'user_email');
  const principalName = principalNameOf(rec.principal);
  const consumed = ['operation', 'emit_time'];
  if (logId !== undefined) consumed.push('log_id');
  if (principalName === undefined && userEmail !== undefined) consumed.push('user_email');
  return makeEvent({
    id: eventId(logId, input.idHint, 'log_id'),
    time,
    type: `${TEMPORAL_NAMESPACE}${operation}`,
    source: 'temporal',
    outcome: outcomeOf(rec.status),
    actor: principalName ?? userEmail,
    clientIp: callers === undefined ? undefined : firstAddress(callers),
    details: detailsExcept(rec, consumed),
    origin: input.origin,
    raw: input.text,
  });
}

function parseV2(input: RecordInput, rec: JsonObject, ctx: ParseContext): AuditEvent {
  const operation = requiredString(rec, 'operation');
  const time = emitTimeOf(rec.emitTime, ctx);
  const logId = optionalString(rec, 'logId');
  const callers = forwardedForOf(rec);
  const consumed = ['operation'];
  if (logId !== undefined) consumed.push('logId');
  return makeEvent({
    id: eventId(logId, input.idHint, 'logId'),
    time,
    type: `${TEMPORAL_NAMESPACE}${operation}`,
    source: 'temporal',
    outcome: outcomeOf(rec.status),
    actor: principalNameOf(rec.principal),
    clientIp: callers === undefined ? undefined : firstAddress(callers),
    details: detailsExcept(rec, consumed),
    origin: input.origin,
    raw: input.text,
  });
}

/** The caller list of a v2 record: Temporal has written it under either spelling. */
function forwardedForOf(rec: JsonObject): string | undefined {
  return optionalString(rec, 'xForwardedFor') ?? optionalString(rec, 'x_forwarded_for');
}

const SECONDS = /^-?\d{1,12}$/;

/**
 * v2's `emitTime` is a protobuf Timestamp: `{seconds, nanos}` (seconds a number,
 * or a string as protobuf writes 64-bit integers), or its RFC 3339 string form.
 */
function emitTimeOf(value: unknown, ctx: ParseContext): string {
  if (typeof value === 'string') return parseTime(value, 'emitTime', ctx.eventTime);
  if (!isObject(value)) throw new InvalidEventError(`emitTime: expected {seconds, nanos} or an RFC 3339 time, got ${describe(value)}`);
  const { seconds, nanos = 0 } = value;
  if (seconds === undefined || seconds === null) throw new InvalidEventError('emitTime.seconds: missing');
  const secs = typeof seconds === 'number' && Number.isSafeInteger(seconds) ? seconds : typeof seconds === 'string' && SECONDS.test(seconds) ? Number(seconds) : undefined;
  if (secs === undefined) throw new InvalidEventError(`emitTime.seconds: expected whole epoch seconds, got ${describe(seconds)}`);
  if (typeof nanos !== 'number' || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new InvalidEventError(`emitTime.nanos: expected a whole number 0–999999999, got ${describe(nanos)}`);
  }
  // Whole seconds stay exact as epoch ms; the ISO form carries the nanoseconds to the bounds check.
  const wholeSecond = new Date(secs * 1000);
  if (secs * 1000 < EARLIEST_TIME_MS || secs * 1000 > LATEST_TIME_MS) throw new InvalidEventError(`emitTime.seconds: ${secs} is outside the years 0001–9999`);
  const iso = `${wholeSecond.toISOString().slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
  return parseTime(iso, 'emitTime', ctx.eventTime);
}

function principalNameOf(principal: unknown): string | undefined {
  if (principal === undefined || principal === null) return undefined;
  if (!isObject(principal)) throw new InvalidEventError(`principal: expected an object, got ${describe(principal)}`);
  return optionalString(principal, 'name', 'principal.name');
}

function outcomeOf(status: unknown): Outcome {
  if (status === undefined || status === null) return 'unknown';
  if (typeof status !== 'string') throw new InvalidEventError(`status: expected a string, got ${describe(status)}`);
  return status === 'OK' ? 'success' : 'failure';
}

// The list reads client first, then each proxy it passed through.
function firstAddress(list: string): string | undefined {
  const comma = list.indexOf(',');
  const first = (comma < 0 ? list : list.slice(0, comma)).trim();
  return first === '' ? undefined : first;
}
