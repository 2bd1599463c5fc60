import { createHash } from 'node:crypto';
import type { AuditEvent } from '../../core/event.js';

export const KEY_PLACEHOLDERS: readonly string[] = [
  'prefix',
  'yyyy',
  'MM',
  'dd',
  'HH',
  'mm',
  'emitter',
  'firstEventTime',
  'lastEventTime',
  'batchId',
  'count',
  'ext',
];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** 20240131T235959.123Z: sorts like the time and has no ':' (awkward in keys and shells). */
function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

/**
 * A content address for the batch: the same events always hash to the same id,
 * so an upload retried after a crash or timeout overwrites its own object
 * instead of writing a second copy of the events.
 */
export function batchIdOf(events: readonly AuditEvent[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(e.id).update('\n');
  return h.digest('hex').slice(0, 16);
}

/**
 * Renders the key template. Time placeholders come from the first event of the
 * batch (not the clock) so that a retried batch gets the same key, and so that
 * archive users find events under the hour they happened. Keys therefore do not
 * grow in write order: a later batch of late events sorts before earlier
 * objects, which is why the S3 source remembers every key it read instead of
 * the last one.
 */
export function renderObjectKey(
  template: string,
  values: { prefix: string; emitter: string; ext: string },
  events: readonly AuditEvent[],
): string {
  const first = new Date(events[0]!.time);
  const last = new Date(events[events.length - 1]!.time);
  const vars: Record<string, string> = {
    prefix: values.prefix.replace(/^\/+|\/+$/g, ''),
    yyyy: String(first.getUTCFullYear()),
    MM: pad(first.getUTCMonth() + 1),
    dd: pad(first.getUTCDate()),
    HH: pad(first.getUTCHours()),
    mm: pad(first.getUTCMinutes()),
    emitter: values.emitter,
    firstEventTime: compactTime(first),
    lastEventTime: compactTime(last),
    batchId: batchIdOf(events),
    count: String(events.length),
    ext: values.ext,
  };
  const key = template.replace(/\{([^}]*)\}/g, (_, name: string) => vars[name]!);
  // An empty prefix must not leave "/2024/…" or "a//b": both are distinct, surprising keys in S3.
  return key.replace(/\/{2,}/g, '/').replace(/^\//, '');
}
