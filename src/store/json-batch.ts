import { InvalidEventError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';

/**
 * Events' JSON as one transferable block for the SQLite writer thread: the
 * bytes one after another, and where each ends. Transferred, never cloned, so
 * the main thread pays one copy of the bytes and nothing per field.
 */
export interface JsonBatch {
  json: Uint8Array;
  /** Byte offset in `json` just past each event. */
  ends: Uint32Array;
}

export function packJson(payloads: readonly Buffer[]): JsonBatch {
  let total = 0;
  for (const p of payloads) total += p.length;
  // Not from Buffer's shared pool: transferring a pooled buffer would detach the pool for everyone.
  const json = new Uint8Array(total);
  const ends = new Uint32Array(payloads.length);
  let at = 0;
  payloads.forEach((p, i) => {
    json.set(p, at);
    at += p.length;
    ends[i] = at;
  });
  return { json, ends };
}

/** The buffers a JsonBatch hands over to the thread it is posted to. */
export function transferList({ json, ends }: JsonBatch): ArrayBuffer[] {
  return [json.buffer as ArrayBuffer, ends.buffer as ArrayBuffer];
}

/**
 * Events `from` … `to` - 1 of a batch back as objects. Bytes that are not a
 * JSON object (a damaged journal record) refuse the event, as content the
 * store cannot take; the error carries its index among those returned.
 */
export function unpackEvents({ json, ends }: JsonBatch, from = 0, to = ends.length): AuditEvent[] {
  const bytes = Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  const events: AuditEvent[] = new Array(to - from);
  let start = from === 0 ? 0 : ends[from - 1]!;
  for (let i = from; i < to; i++) {
    const end = ends[i]!;
    let event: unknown;
    try {
      event = JSON.parse(bytes.toString('utf8', start, end));
    } catch (err) {
      throw new InvalidEventError(`queue entry unreadable: ${(err as Error).message}`, { index: i - from });
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new InvalidEventError('queue entry unreadable: not a JSON object', { index: i - from });
    }
    events[i - from] = event as AuditEvent;
    start = end;
  }
  return events;
}
