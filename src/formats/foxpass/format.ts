import type { AuditEvent } from '../../core/event.js';
import { detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredBoolean, requiredString, requiredTime } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { FOXPASS_EVENT_TYPES } from './event-types.js';
import { foxpassOcsf } from './ocsf.js';

/**
 * Foxpass LDAP bind / RADIUS authorize records (docs/producers.md). The type is
 * `service.method` (ldap.bind, radius.authorize), so both fields are held by
 * `type` and `service`; `bind_dn` and `user_type` stay in details.
 */
export const foxpassFormat: ProducerFormat<'foxpass'> = {
  name: 'foxpass',
  eventTypes: { types: FOXPASS_EVENT_TYPES },
  ocsf: foxpassOcsf,

  detect(value) {
    return isObject(value) && value.service !== undefined && value.method !== undefined && value.timestamp !== undefined && value.success !== undefined;
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value, 'Foxpass');
    const service = requiredString(rec, 'service');
    const method = requiredString(rec, 'method');
    const success = requiredBoolean(rec, 'success');
    // Foxpass documents its timestamps ("2018-01-15 14:29:38.175") as UTC.
    const time = requiredTime(rec, 'timestamp', ctx, { zonelessIsUtc: true });
    const username = optionalString(rec, 'username');
    const bindDn = optionalString(rec, 'bind_dn');
    const ipAddress = optionalString(rec, 'ipAddress');
    const message = optionalString(rec, 'message');
    // Foxpass records carry no id; a producer that adds one makes its retries recognisable.
    const producerId = optionalString(rec, 'id');
    const consumed = ['service', 'method', 'timestamp', 'success'];
    if (producerId !== undefined) consumed.push('id');
    if (message !== undefined) consumed.push('message');
    // A null username means "user not found": it stays in details so that fact survives.
    if (username !== undefined) consumed.push('username');
    if (ipAddress !== undefined) consumed.push('ipAddress');
    return [
      makeEvent({
        id: eventId(producerId, input.idHint),
        time,
        type: `${service}.${method}`,
        source: 'foxpass',
        service,
        outcome: success ? 'success' : 'failure',
        actor: username ?? bindDn,
        clientIp: ipAddress,
        message,
        details: detailsExcept(rec, consumed),
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};
