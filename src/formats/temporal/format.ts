import type { AuditEvent, Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { describe, detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, requiredTime } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { TEMPORAL_NAMESPACE } from './event-types.js';
import { temporalOcsf } from './ocsf.js';

/**
 * Temporal Cloud audit log records (docs/producers.md). `status`, `caller_ip_address`
 * and `principal` stay in details even though canonical slots draw on them,
 * because those slots keep only part of each (failure vs. the status code, the
 * first of several proxies' addresses, the principal's name).
 */
export const temporalFormat: ProducerFormat<'temporal'> = {
  name: 'temporal',
  eventTypes: { openNamespace: TEMPORAL_NAMESPACE },
  ocsf: temporalOcsf,

  detect(value) {
    return isObject(value) && value.emit_time !== undefined && value.operation !== undefined;
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value, 'Temporal');
    const operation = requiredString(rec, 'operation');
    const time = requiredTime(rec, 'emit_time', ctx);
    const logId = optionalString(rec, 'log_id');
    const callers = optionalString(rec, 'caller_ip_address');
    const userEmail = optionalString(rec, 'user_email');
    const principalName = principalNameOf(rec.principal);
    const consumed = ['operation', 'emit_time'];
    if (logId !== undefined) consumed.push('log_id');
    if (principalName === undefined && userEmail !== undefined) consumed.push('user_email');
    return [
      makeEvent({
        id: eventId(logId, input.idHint, 'log_id'),
        time,
        type: `${TEMPORAL_NAMESPACE}${operation}`,
        source: 'temporal',
        outcome: outcomeOf(rec.status),
        actor: principalName ?? userEmail,
        // The list reads client first, then each proxy it passed through.
        clientIp: callers === undefined ? undefined : firstAddress(callers),
        details: detailsExcept(rec, consumed),
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

function principalNameOf(principal: unknown): string | undefined {
  if (principal === undefined || principal === null) return undefined;
  if (!isObject(principal)) throw new InvalidEventError(`principal: expected an object, got ${describe(principal)}`);
  return optionalString(principal, 'name', 'principal.name');
}

function outcomeOf(status: unknown): Outcome {
  if (status === undefined || status === null) return 'unknown';
  if (typeof status !== 'string') throw new InvalidEventError(`status: expected a string, got ${describe(status)}`);
  return status === 'OK' ? 'success' : 'failure';
}

function firstAddress(list: string): string | undefined {
  const comma = list.indexOf(',');
  const first = (comma < 0 ? list : list.slice(0, comma)).trim();
  return first === '' ? undefined : first;
}
