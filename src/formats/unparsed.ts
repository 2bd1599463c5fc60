import type { AuditEvent } from '../core/event.js';
import { toIso } from '../core/time.js';
import { makeEvent } from './fields.js';
import type { RecordInput } from './parser.js';
import { eventId } from './record-id.js';

/**
 * A collector never drops a record it cannot read: it keeps it as an event
 * of type `unparsed` (`cloudwatch.log` when it came out of a CloudWatch Logs
 * subscription, where unrecognised application logs are normal) with the
 * text untouched, the reason in details, and the transport's time.
 */
export function unparsedEvent(input: RecordInput, reason: string, fromCloudWatch: boolean): AuditEvent {
  return makeEvent({
    id: eventId(undefined, input.idHint),
    time: toIso(new Date(input.timestampMs ?? Date.now())),
    type: fromCloudWatch ? 'cloudwatch.log' : 'unparsed',
    source: fromCloudWatch ? 'cloudwatch-logs' : 'unparsed',
    outcome: 'unknown',
    details: { unparsedReason: reason },
    origin: input.origin,
    raw: input.text,
  });
}
