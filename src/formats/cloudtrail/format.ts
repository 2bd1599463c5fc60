import { isIP } from 'node:net';
import type { AuditEvent, Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { describe, detailsExcept, expectObject, isObject, makeEvent, optionalString, requiredString, requiredTime, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { CLOUDTRAIL_DIGEST_TYPE, CLOUDTRAIL_INSIGHT_TYPE, CLOUDTRAIL_NAMESPACE } from './event-types.js';
import { cloudtrailOcsf } from './ocsf.js';

/** One AWS CloudTrail event, a log file (`{"Records":[…]}`) of them, or a digest file. */
export const cloudtrailFormat: ProducerFormat<'cloudtrail'> = {
  name: 'cloudtrail',
  eventTypes: { openNamespace: CLOUDTRAIL_NAMESPACE },
  ocsf: cloudtrailOcsf,

  detect(value) {
    if (!isObject(value)) return false;
    if (value.eventVersion !== undefined && (value.eventName !== undefined || value.insightDetails !== undefined)) return true;
    return Array.isArray(value.Records) || isDigest(value);
  },

  split(value) {
    return isObject(value) && Array.isArray(value.Records) ? { field: 'Records', records: value.Records } : undefined;
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const rec = expectObject(value, 'CloudTrail');
    if (isDigest(rec)) return [digestEvent(input, rec, ctx)];
    if (rec.eventName === undefined && rec.insightDetails !== undefined) return [insightEvent(input, rec, ctx)];
    const eventName = requiredString(rec, 'eventName');
    const time = requiredTime(rec, 'eventTime', ctx);
    const id = optionalString(rec, 'eventID');
    const service = optionalString(rec, 'eventSource');
    const message = optionalString(rec, 'errorMessage');
    const clientIp = clientIpOf(rec);
    const identity = identityOf(rec.userIdentity);
    const consumed = ['eventName', 'eventTime'];
    if (id !== undefined) consumed.push('eventID');
    if (service !== undefined) consumed.push('eventSource');
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
        message,
        details,
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

/**
 * A digest file is kept as an event, not skipped: it is the trail's proof that its log files were
 * neither changed nor deleted, which an audit store is there to keep. `exclude: [cloudtrail.digest]`
 * drops it.
 */
function digestEvent(input: RecordInput, rec: JsonObject, ctx: ParseContext): AuditEvent {
  const time = requiredTime(rec, 'digestEndTime', ctx);
  // The digest's S3 key names it uniquely, so a re-read digest keeps its id.
  const key = optionalString(rec, 'digestS3Object');
  const consumed = ['digestEndTime'];
  return makeEvent({
    id: eventId(undefined, key ?? input.idHint),
    time,
    type: CLOUDTRAIL_DIGEST_TYPE,
    source: 'cloudtrail',
    service: 'cloudtrail.amazonaws.com',
    outcome: 'unknown',
    details: detailsExcept(rec, consumed),
    origin: input.origin,
    raw: input.text,
  });
}

/** An Insights event names the API whose call or error rate is unusual in insightDetails, not at top level. */
function insightEvent(input: RecordInput, rec: JsonObject, ctx: ParseContext): AuditEvent {
  const insight = rec.insightDetails;
  if (!isObject(insight)) throw new InvalidEventError(`insightDetails: expected an object, got ${describe(insight)}`);
  requiredString(insight, 'state', 'insightDetails.state');
  requiredString(insight, 'eventName', 'insightDetails.eventName');
  const time = requiredTime(rec, 'eventTime', ctx);
  const id = optionalString(rec, 'eventID');
  const service = optionalString(insight, 'eventSource', 'insightDetails.eventSource');
  const consumed = ['eventTime'];
  if (id !== undefined) consumed.push('eventID');
  return makeEvent({
    id: eventId(id, input.idHint, 'eventID'),
    time,
    type: CLOUDTRAIL_INSIGHT_TYPE,
    source: 'cloudtrail',
    service,
    // An unusual rate of calls is neither a success nor a failure.
    outcome: 'unknown',
    details: detailsExcept(rec, consumed),
    origin: input.origin,
    raw: input.text,
  });
}

function isDigest(value: JsonObject): boolean {
  return value.digestStartTime !== undefined && value.digestEndTime !== undefined && value.Records === undefined;
}

/**
 * clientIp only when sourceIPAddress is an address: a call an AWS service made for the caller gives
 * the service's name (`ec2.amazonaws.com`), and some calls give `AWS Internal`. Those stay in
 * details.sourceIPAddress, which the ocsf codec maps to src_endpoint.svc_name.
 */
function clientIpOf(rec: JsonObject): string | undefined {
  const sourceIp = optionalString(rec, 'sourceIPAddress');
  return sourceIp !== undefined && isIP(sourceIp) !== 0 ? sourceIp : undefined;
}

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
    onBehalfOfUser(userIdentity) ??
    optionalString(userIdentity, 'principalId', 'userIdentity.principalId') ??
    // An AWS service calling on its own (type AWSService) is named only here.
    optionalString(userIdentity, 'invokedBy', 'userIdentity.invokedBy');
  const accessKeyId = optionalString(userIdentity, 'accessKeyId', 'userIdentity.accessKeyId');
  const rest = accessKeyId === undefined ? userIdentity : detailsExcept(userIdentity, ['accessKeyId']);
  return { actor, accessKeyId, rest };
}

/** An IAM Identity Center user: the user id within the identity store that onBehalfOf names. */
function onBehalfOfUser(userIdentity: JsonObject): string | undefined {
  const onBehalfOf = userIdentity.onBehalfOf;
  if (onBehalfOf === undefined || onBehalfOf === null) return undefined;
  if (!isObject(onBehalfOf)) throw new InvalidEventError(`userIdentity.onBehalfOf: expected an object, got ${describe(onBehalfOf)}`);
  return optionalString(onBehalfOf, 'userId', 'userIdentity.onBehalfOf.userId');
}

function outcomeOf(rec: JsonObject): Outcome {
  if (rec.errorCode !== undefined && rec.errorCode !== null && rec.errorCode !== '') return 'failure';
  // Sign-in events (ConsoleLogin, and others such as a console password change) fail with no
  // errorCode: their response element named after the event says "Failure".
  const response = rec.responseElements;
  if (isObject(response) && Object.values(response).includes('Failure')) return 'failure';
  return 'success';
}
