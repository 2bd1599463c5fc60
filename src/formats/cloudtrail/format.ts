import { isIP } from 'node:net';
import type { AuditEvent, Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { describe, detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, requiredTime, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { CLOUDTRAIL_NAMESPACE } from './event-types.js';
import { cloudtrailOcsf } from './ocsf.js';

/** One AWS CloudTrail event, or a log file (`{"Records":[…]}`) of them. */
export const cloudtrailFormat: ProducerFormat<'cloudtrail'> = {
  name: 'cloudtrail',
  eventTypes: { openNamespace: CLOUDTRAIL_NAMESPACE },
  ocsf: cloudtrailOcsf,

  detect(value) {
    return isObject(value) && ((value.eventVersion !== undefined && value.eventName !== undefined) || Array.isArray(value.Records));
  },

  split(value) {
    return isObject(value) && Array.isArray(value.Records) ? { field: 'Records', records: value.Records } : undefined;
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value, 'CloudTrail');
    const eventName = requiredString(rec, 'eventName');
    const time = requiredTime(rec, 'eventTime', ctx);
    const id = optionalString(rec, 'eventID');
    const service = optionalString(rec, 'eventSource');
    const tenant = optionalString(rec, 'recipientAccountId');
    const message = optionalString(rec, 'errorMessage');
    const sourceIp = optionalString(rec, 'sourceIPAddress');
    // AWS services acting for a user appear as e.g. "ec2.amazonaws.com": not an address.
    const clientIp = sourceIp !== undefined && isIP(sourceIp) !== 0 ? sourceIp : undefined;
    const identity = identityOf(rec.userIdentity);
    const consumed = ['eventName', 'eventTime'];
    if (id !== undefined) consumed.push('eventID');
    if (service !== undefined) consumed.push('eventSource');
    if (tenant !== undefined) consumed.push('recipientAccountId');
    if (message !== undefined) consumed.push('errorMessage');
    if (clientIp !== undefined) consumed.push('sourceIPAddress');
    const details = detailsExcept(rec, consumed);
    if (identity.rest !== undefined) details.userIdentity = identity.rest;
    return [
      makeEvent({
        id: eventId(id, input.idHint, 'eventID'),
        time,
        type: `${CLOUDTRAIL_NAMESPACE}${eventName}`,
        source: 'cloudtrail',
        service,
        outcome: outcomeOf(rec),
        actor: identity.actor,
        clientIp,
        sessionId: identity.accessKeyId,
        tenant,
        message,
        details,
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

interface Identity {
  actor?: string | undefined;
  accessKeyId?: string | undefined;
  /** userIdentity without the access key, which moves to sessionId. */
  rest?: JsonObject | undefined;
}

function identityOf(userIdentity: unknown): Identity {
  if (userIdentity === undefined || userIdentity === null) return {};
  if (!isObject(userIdentity)) throw new InvalidEventError(`userIdentity: expected an object, got ${describe(userIdentity)}`);
  const actor =
    optionalString(userIdentity, 'arn', 'userIdentity.arn') ??
    optionalString(userIdentity, 'userName', 'userIdentity.userName') ??
    optionalString(userIdentity, 'principalId', 'userIdentity.principalId');
  const accessKeyId = optionalString(userIdentity, 'accessKeyId', 'userIdentity.accessKeyId');
  const rest = accessKeyId === undefined ? userIdentity : detailsExcept(userIdentity, ['accessKeyId']);
  return { actor, accessKeyId, rest };
}

function outcomeOf(rec: JsonObject): Outcome {
  if (rec.errorCode !== undefined && rec.errorCode !== null && rec.errorCode !== '') return 'failure';
  // Console sign-in failures carry no errorCode, only this response element.
  const response = rec.responseElements;
  if (isObject(response) && response.ConsoleLogin === 'Failure') return 'failure';
  return 'success';
}
