import { AuditstreamError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';

/** How many of the events sharing an id a read fetches, and an ambiguity lists. */
export const AMBIGUOUS_LISTED = 20;

/**
 * Several producers stored an event with this id; `sources` names them (the
 * first AMBIGUOUS_LISTED, in order) so the caller can ask again with one.
 */
export class AmbiguousEventIdError extends AuditstreamError {
  readonly code = 'EVENT_ID_AMBIGUOUS';
  readonly retriable = false;
  constructor(
    readonly id: string,
    readonly sources: readonly string[],
  ) {
    super(`${sources.length === AMBIGUOUS_LISTED ? 'at least ' : ''}${sources.length} events have id ${id}, from sources ${sources.join(', ')}: name one with source`);
  }
}

/** The one event among `events` (all with `id`), none, or an AmbiguousEventIdError naming their sources. */
export function onlyEvent(id: string, events: readonly AuditEvent[]): AuditEvent | undefined {
  if (events.length > 1) throw new AmbiguousEventIdError(id, events.map((e) => e.source));
  return events[0];
}
