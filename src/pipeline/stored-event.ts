import { rememberEventJson } from '../core/component-metrics.js';
import type { AuditEvent } from '../core/event.js';

const parsed = new WeakMap<Buffer, AuditEvent>();

/**
 * The event whose journal bytes are `payload`, parsed once for every emitter
 * handed the same Buffer (the journal's entry cache gives all of them the
 * same one), and kept only while someone holds the bytes. Emitters and sinks
 * share the object, so none may change it. Throws what JSON.parse throws.
 */
export function storedEvent(payload: Buffer): AuditEvent {
  let event = parsed.get(payload);
  if (!event) {
    event = JSON.parse(payload.toString('utf8')) as AuditEvent;
    // Parsed from bytes JSON.stringify made: json-codec sinks send those bytes, not a second serialisation.
    rememberEventJson(event, payload);
    parsed.set(payload, event);
  }
  return event;
}
