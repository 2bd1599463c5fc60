import { InvalidEventError } from '../core/errors.js';
import type { AuditEvent, Outcome } from '../core/event.js';

/** An event as both backends store it; JSON columns as text, time in UTC. */
export interface EventRow {
  id: string;
  /** ISO 8601 UTC with milliseconds: one notation, so equal instants compare equal. */
  time: string;
  timeMs: number;
  type: string;
  source: string;
  service: string | null;
  outcome: string;
  actor: string | null;
  client_ip: string | null;
  session_id: string | null;
  tenant: string | null;
  message: string | null;
  details: string;
  origin: string | null;
  raw: string;
}

function checkedId(event: AuditEvent): string {
  const id = event.id;
  if (typeof id !== 'string' || id === '') throw new InvalidEventError(`event without an id cannot be stored`);
  return id;
}

function timeMsOf(event: AuditEvent, id: string): number {
  const timeMs = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
  if (Number.isNaN(timeMs)) throw new InvalidEventError(`event ${id}: time ${JSON.stringify(event.time)} is not a timestamp`);
  return timeMs;
}

/** The values of ROW_COLUMNS, in that order, for each row one after another. */
export type FlatRows = (string | number | null)[];

/**
 * The columns of a flat row, in order: what the SQLite writer thread binds
 * positionally to its one prepared INSERT. Plain values cross to the thread
 * several times cheaper than the events' objects do.
 */
export const ROW_COLUMNS = ['id', 'time', 'time_ms', 'type', 'source', 'service', 'outcome', 'actor', 'client_ip', 'session_id', 'tenant', 'message', 'details', 'origin', 'raw'] as const;

/**
 * Events `from` … `to` - 1 as the values of their columns, written into
 * `flat` at their place in ROW_COLUMNS order, without a row object per event.
 * Checks what the columns require; a refused event names its id and the
 * field, and the error carries the event's index in `events`.
 */
export function writeFlatRows(events: readonly AuditEvent[], from: number, to: number, flat: FlatRows): void {
  let i = from * ROW_COLUMNS.length;
  let e = from;
  try {
    for (; e < to; e++) {
      const event = events[e]!;
      const id = checkedId(event);
      const timeMs = timeMsOf(event, id);
      flat[i++] = id;
      flat[i++] = new Date(timeMs).toISOString();
      flat[i++] = timeMs;
      flat[i++] = column(id, 'type', event.type);
      flat[i++] = column(id, 'source', event.source);
      flat[i++] = column(id, 'service', event.service);
      flat[i++] = column(id, 'outcome', event.outcome);
      flat[i++] = column(id, 'actor', event.actor);
      flat[i++] = column(id, 'clientIp', event.clientIp);
      flat[i++] = column(id, 'sessionId', event.sessionId);
      flat[i++] = column(id, 'tenant', event.tenant);
      flat[i++] = column(id, 'message', event.message);
      flat[i++] = json(id, 'details', event.details ?? {});
      flat[i++] = event.origin === undefined ? null : json(id, 'origin', event.origin);
      flat[i++] = column(id, 'raw', event.raw);
    }
  } catch (err) {
    if (err instanceof InvalidEventError) throw new InvalidEventError(err.message, { cause: err.cause, index: e });
    throw err;
  }
}

/**
 * A text column's value. Events made here are typed so, but stored bytes
 * parsed by the writer thread are whatever was stored: an object, array or
 * boolean would fail SQLite's bind with a TypeError, which is retried
 * forever, where this refuses the one event (dead-lettered). An absent or
 * null one is NULL, which the NOT NULL columns refuse themselves.
 */
function column(id: string, field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidEventError(`event ${id}: ${field} is not a string`);
  return value;
}

function json(id: string, field: string, value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    // BigInt or a cycle: the event can never be stored as it is.
    throw new InvalidEventError(`event ${id}: ${field} is not JSON (${(err as Error).message})`);
  }
}

/** The stored columns back into an event; NULL columns become absent fields. */
export function fromRow(row: Omit<EventRow, 'timeMs'>): AuditEvent {
  const event: AuditEvent = {
    id: row.id,
    time: row.time,
    type: row.type,
    source: row.source,
    outcome: row.outcome as Outcome,
    details: JSON.parse(row.details) as Record<string, unknown>,
    raw: row.raw,
  };
  if (row.service !== null) event.service = row.service;
  if (row.actor !== null) event.actor = row.actor;
  if (row.client_ip !== null) event.clientIp = row.client_ip;
  if (row.session_id !== null) event.sessionId = row.session_id;
  if (row.tenant !== null) event.tenant = row.tenant;
  if (row.message !== null) event.message = row.message;
  if (row.origin !== null) event.origin = JSON.parse(row.origin) as Record<string, string>;
  return event;
}
