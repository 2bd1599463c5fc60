import type { AuditEvent, Outcome } from '../../core/event.js';
import { describe } from '../../core/describe.js';
import { InvalidEventError } from '../../core/errors.js';
import { parseTime, type TimeNotation } from '../../core/time.js';
import type { ParseContext } from '../producer-format.js';

export { describe };

/**
 * Small readers shared by the parsers. They throw InvalidEventError whose
 * message starts with the field name, so an HTTP 400 or a dead-letter entry
 * tells the producer exactly which field to fix.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function expectObject(value: unknown, format: string): JsonObject {
  if (isObject(value)) return value;
  throw new InvalidEventError(`record: expected a ${format} JSON object, got ${describe(value)}`);
}

export function requiredString(obj: JsonObject, field: string, path = field): string {
  const v = obj[field];
  if (typeof v === 'string' && v !== '') return v;
  if (v === undefined) throw new InvalidEventError(`${path}: missing`);
  throw new InvalidEventError(`${path}: expected a non-empty string, got ${describe(v)}`);
}

/** A string field that may be absent or null; an empty string counts as absent. */
export function optionalString(obj: JsonObject, field: string, path = field): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  throw new InvalidEventError(`${path}: expected a string, got ${describe(v)}`);
}

export function requiredBoolean(obj: JsonObject, field: string): boolean {
  const v = obj[field];
  if (typeof v === 'boolean') return v;
  if (v === undefined) throw new InvalidEventError(`${field}: missing`);
  throw new InvalidEventError(`${field}: expected true or false, got ${describe(v)}`);
}

/** The field's time as ISO 8601 UTC, in a notation parseTime reads and inside the configured window. */
export function requiredTime(obj: JsonObject, field: string, ctx: ParseContext, notation?: TimeNotation): string {
  const v = obj[field];
  if (v === undefined || v === null) throw new InvalidEventError(`${field}: missing`);
  return parseTime(v, field, ctx.eventTime, notation);
}

/** Every field of `obj` except the ones a canonical slot holds verbatim, in the record's own order. */
export function detailsExcept(obj: JsonObject, consumed: readonly string[]): JsonObject {
  const details: JsonObject = {};
  for (const key of Object.keys(obj)) if (!consumed.includes(key)) setField(details, key, obj[key]);
  return details;
}

/**
 * `obj[key] = value` as an own field whatever the key: JSON.parse makes a
 * `"__proto__"` member an own field, but assigning it would set the object's
 * prototype instead and the field would be gone from details and every output.
 */
export function setField(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export interface EventFields {
  id: string;
  time: string;
  type: string;
  source: string;
  outcome: Outcome;
  service?: string | undefined;
  actor?: string | undefined;
  clientIp?: string | undefined;
  sessionId?: string | undefined;
  tenant?: string | undefined;
  message?: string | undefined;
  details: JsonObject;
  origin?: Record<string, string> | undefined;
  raw: string;
}

/**
 * Builds the event in the canonical key order and without keys for absent
 * optional fields, so JSON output and deep equality see the same shape.
 */
export function makeEvent(f: EventFields): AuditEvent {
  const e = { id: f.id, time: f.time, type: f.type, source: f.source } as AuditEvent;
  if (f.service !== undefined) e.service = f.service;
  e.outcome = f.outcome;
  if (f.actor !== undefined) e.actor = f.actor;
  if (f.clientIp !== undefined) e.clientIp = f.clientIp;
  if (f.sessionId !== undefined) e.sessionId = f.sessionId;
  if (f.tenant !== undefined) e.tenant = f.tenant;
  if (f.message !== undefined) e.message = f.message;
  e.details = f.details;
  if (f.origin !== undefined) e.origin = f.origin;
  e.raw = f.raw;
  return e;
}

