import type { AuditEvent } from '../../core/event.js';
import { escapeUnstorable, unstorableProblem } from '../../core/storable.js';
import { withinBounds, type EventTimeBounds } from '../../core/time.js';
import { makeEvent, type JsonObject } from '../parse-helpers/fields.js';
import type { EventSource, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';

const UNPARSED: EventSource = { name: 'unparsed', eventTypes: { types: { unparsed: 'record no parser accepted, kept with its raw text' } } };
const CLOUDWATCH_LOGS: EventSource = {
  name: 'cloudwatch-logs',
  eventTypes: { types: { 'cloudwatch.log': 'CloudWatch Logs event no parser recognised' } },
  ocsf: { product: { name: 'CloudWatch Logs', vendor_name: 'AWS' } },
};

/** The sources of kept unparsed records: no producer format reads them, but include / exclude and OCSF know them. */
export const UNPARSED_SOURCES: readonly EventSource[] = [UNPARSED, CLOUDWATCH_LOGS];

/**
 * A collector never drops a record it cannot read: it keeps it as an event
 * of type `unparsed` (`cloudwatch.log` when it came out of a CloudWatch Logs
 * subscription, where unrecognised application logs are normal) with the
 * text untouched, the reason in details, and the transport's time. What it
 * keeps is storable, so a collector's unparsed event is never dead-lettered.
 */
export function unparsedEvent(input: RecordInput, reason: string, fromCloudWatch: boolean, bounds: EventTimeBounds): AuditEvent {
  // Kept means storable (src/core/storable.ts): text that cannot be stored as it is travels as its JSON string literal, which JSON.parse gives back exactly.
  const rawProblem = unstorableProblem(input.text);
  const raw = rawProblem === undefined ? input.text : JSON.stringify(input.text);
  const details: JsonObject = {
    unparsedReason: escapeUnstorable(rawProblem === undefined ? reason : `${reason}; raw holds the record's text as a JSON string literal, since the text ${rawProblem}`),
  };
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
    origin: input.origin === undefined ? undefined : storableOrigin(input.origin),
    raw,
  });
}

/** The transport's names as stored: what cannot be stored is escaped (`\u0000`); the reason already names the field. */
function storableOrigin(origin: Record<string, string>): Record<string, string> {
  if (Object.values(origin).every((v) => unstorableProblem(v) === undefined)) return origin;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(origin)) out[k] = escapeUnstorable(v);
  return out;
}
