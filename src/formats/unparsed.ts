import type { AuditEvent } from '../core/event.js';
import { withinBounds, type EventTimeBounds } from '../core/time.js';
import { makeEvent, type JsonObject } from './fields.js';
import type { RecordInput } from './parser.js';
import { eventId } from './record-id.js';

/**
 * A collector never drops a record it cannot read: it keeps it as an event
 * of type `unparsed` (`cloudwatch.log` when it came out of a CloudWatch Logs
 * subscription, where unrecognised application logs are normal) with the
 * text untouched, the reason in details, and the transport's time.
 */
export function unparsedEvent(input: RecordInput, reason: string, fromCloudWatch: boolean, bounds: EventTimeBounds): AuditEvent {
  const details: JsonObject = { unparsedReason: reason };
  const at = input.timestampMs;
  // A CloudWatch log event's timestamp is whatever its producer wrote: outside the window it would
  // sort above every search (or not store at all), so the time of reading stands in and it is kept.
  const usable = at !== undefined && withinBounds(at, bounds);
  if (at !== undefined && !usable) details.transportTimestampMs = at;
  const time = new Date(usable ? at : Date.now()).toISOString();
  return makeEvent({
    id: eventId(undefined, input.idHint),
    time,
    type: fromCloudWatch ? 'cloudwatch.log' : 'unparsed',
    source: fromCloudWatch ? 'cloudwatch-logs' : 'unparsed',
    outcome: 'unknown',
    details,
    origin: input.origin,
    raw: input.text,
  });
}
