import { InvalidEventError } from '../../core/errors.js';
import { eventIdProblem, hintedEventId, newEventId } from '../../core/ids.js';

/**
 * The one rule for event ids. A record's own id (Blitz `id`, Temporal `log_id`,
 * CloudTrail `eventID`, a generic `id`) wins, because the producer may resend
 * and stores dedupe on it; one that cannot be an id (see eventIdProblem) fails
 * the record, naming `field`. Otherwise a collector's deterministic hint (shard +
 * sequence number, CloudWatch log event id …) so that a replay after a crash
 * yields the same ids. Only when neither exists is a fresh UUIDv7 assigned.
 */
export function eventId(naturalId: string | undefined, idHint: string | undefined, field = 'id'): string {
  if (naturalId !== undefined && naturalId !== '') return checkedEventId(naturalId, field);
  if (idHint !== undefined && idHint !== '') return hintedEventId(idHint);
  return newEventId();
}

/** `id` when it can be an event id; otherwise an InvalidEventError naming `field` and why. */
export function checkedEventId(id: string, field: string): string {
  const problem = eventIdProblem(id);
  if (problem !== undefined) throw new InvalidEventError(`${field}: ${problem}`);
  return id;
}

/**
 * The hint for the `index`-th of several records carried by one hinted unit
 * (an NDJSON line of a Kinesis record, an element of a CloudTrail Records array).
 */
export function childHint(idHint: string | undefined, index: number): string | undefined {
  return idHint === undefined || idHint === '' ? undefined : `${idHint}:${index}`;
}
