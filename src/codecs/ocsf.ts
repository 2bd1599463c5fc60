/**
 * The `ocsf` codec: a canonical AuditEvent as an OCSF 1.1 event
 * (docs/codecs.md has the mapping). Nothing is lost: `raw_data` keeps the
 * producer's record, `metadata.uid` the event id (so stores dedupe), and every
 * detail no OCSF attribute holds whole stays in `unmapped` under its own name.
 */
import { isIP } from 'node:net';
import type { AuditEvent, Outcome } from '../core/event.js';
import { apiOperation, classify, OCSF_CLASSES, OTHER_ACTIVITY, type OcsfActivity } from './ocsf-classes.js';

export const OCSF_VERSION = '1.1.0';

type Obj = Record<string, unknown>;

const STATUS: Readonly<Record<Outcome, { id: number; name: string }>> = {
  success: { id: 1, name: 'Success' },
  failure: { id: 2, name: 'Failure' },
  unknown: { id: 0, name: 'Unknown' },
};

interface Product {
  name: string;
  vendor_name: string;
}

const PRODUCTS: ReadonlyMap<string, Product> = new Map([
  ['foxpass', { name: 'Foxpass', vendor_name: 'Foxpass' }],
  ['blitz', { name: 'Blitz Identity Provider', vendor_name: 'Identity Blitz' }],
  ['temporal', { name: 'Temporal Cloud', vendor_name: 'Temporal Technologies' }],
  ['cloudtrail', { name: 'CloudTrail', vendor_name: 'AWS' }],
  ['vpc-flow', { name: 'Amazon VPC', vendor_name: 'AWS' }],
  ['cloudwatch-logs', { name: 'CloudWatch Logs', vendor_name: 'AWS' }],
]);

/** IANA names (lowercase, as OCSF wants them) of the protocols flow logs mostly carry. */
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'icmp'],
  [6, 'tcp'],
  [17, 'udp'],
  [58, 'ipv6-icmp'],
]);

/**
 * What each class requires beyond Base Event's metadata and severity. An event
 * that cannot fill them is a Base Event instead, which keeps it all in `unmapped`.
 */
const REQUIRED: Readonly<Record<keyof typeof OCSF_CLASSES, readonly string[]>> = {
  base: [],
  accountChange: ['user'],
  authentication: ['user'],
  networkActivity: ['src_endpoint', 'dst_endpoint'],
  apiActivity: ['api', 'actor', 'src_endpoint'],
};

/** Canonical fields a class has no attribute for; they go to `unmapped` under their canonical names. */
const UNPLACED: Readonly<Record<keyof typeof OCSF_CLASSES, readonly (keyof AuditEvent)[]>> = {
  base: ['actor', 'clientIp', 'sessionId', 'service'],
  accountChange: ['service'],
  authentication: [],
  networkActivity: ['actor', 'sessionId', 'service'],
  apiActivity: [],
};

/**
 * The event's details while a mapping reads them: a field an OCSF attribute
 * holds whole is taken out, the rest ends in `unmapped`.
 */
class Details {
  readonly rest: Obj;

  constructor(details: Obj) {
    this.rest = { ...details };
  }

  get(key: string): unknown {
    return Object.hasOwn(this.rest, key) ? this.rest[key] : undefined;
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  takeString(key: string): string | undefined {
    return this.taken(key, this.string(key));
  }

  takeNumber(key: string): number | undefined {
    const v = this.get(key);
    return this.taken(key, typeof v === 'number' ? v : undefined);
  }

  taken<T>(key: string, value: T | undefined): T | undefined {
    if (value !== undefined) delete this.rest[key];
    return value;
  }
}

export function toOcsf(event: AuditEvent): Obj {
  return inClass(event, classify(event)) ?? inClass(event, { class: 'base', activityId: OTHER_ACTIVITY, activityName: event.type })!;
}

/** The event in the activity's class; undefined when it lacks what the class requires. */
function inClass(event: AuditEvent, activity: OcsfActivity): Obj | undefined {
  const cls = OCSF_CLASSES[activity.class];
  const d = new Details(event.details);
  const profiles: string[] = [];
  const attributes = ATTRIBUTES[activity.class](event, d, profiles);
  if (REQUIRED[activity.class].some((k) => attributes[k] === undefined)) return undefined;
  const status = STATUS[event.outcome];
  // A clientIp that is no address has no OCSF attribute in any class.
  const unplacedFields = new Set([...UNPLACED[activity.class], ...(address(event) === undefined ? (['clientIp'] as const) : [])]);
  const unplaced = Object.fromEntries([...unplacedFields].map((k) => [k, event[k]]));
  return compact({
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.categoryUid,
    category_name: cls.categoryName,
    activity_id: activity.activityId,
    activity_name: activity.activityName,
    type_uid: cls.uid * 100 + activity.activityId,
    type_name: `${cls.name}: ${activity.activityId === OTHER_ACTIVITY ? 'Other' : activity.activityName}`,
    time: Date.parse(event.time),
    severity_id: 1,
    severity: 'Informational',
    status_id: status.id,
    status: status.name,
    message: event.message,
    metadata: metadata(event, profiles),
    ...attributes,
    raw_data: event.raw,
    // The transport's origin wins over a detail of that name; raw_data still holds the record's own field.
    unmapped: compact({ ...d.rest, ...unplaced, origin: event.origin }),
  })!;
}

type AttributeMapper = (event: AuditEvent, d: Details, profiles: string[]) => Obj;

const ATTRIBUTES: Readonly<Record<keyof typeof OCSF_CLASSES, AttributeMapper>> = {
  base: () => ({}),

  authentication(e, d, profiles) {
    const user = actorUser(e, d);
    return {
      user,
      actor: compact({ user }),
      session: sessionOf(e),
      src_endpoint: srcEndpoint(e, d),
      // OCSF wants the service or the destination of a logon; the service is what we know.
      service: { name: e.service ?? productOf(e).name },
      ...authProtocol(e, d),
      is_mfa: mfaUsed(d),
      http_request: httpRequest(d),
      status_detail: d.takeString('error'),
      cloud: cloudOf(e, d, profiles),
    };
  },

  accountChange(e, d) {
    const actor = actorUser(e, d);
    // Blitz: object_id is the account operated on, subject_id (the actor) who did it.
    const target = compact({ uid: d.takeString('object_id') });
    return {
      user: target ?? actor,
      actor: compact({ user: actor, session: sessionOf(e) }),
      src_endpoint: srcEndpoint(e, d),
      http_request: httpRequest(d),
      status_detail: d.takeString('error'),
    };
  },

  apiActivity(e, d, profiles) {
    const error = d.takeString('errorCode');
    return {
      api: compact({
        operation: apiOperation(e.type),
        // CloudTrail names the called service in eventSource; Temporal Cloud's operations are its own.
        service: compact({ name: e.service ?? (e.source === 'cloudtrail' ? undefined : productOf(e).name) }),
        request: compact({ uid: d.takeString('requestID') ?? d.takeString('request_id') }),
        response: compact({ error, error_message: error === undefined ? undefined : e.message }),
      }),
      actor: compact({ user: actorUser(e, d), session: sessionOf(e), invoked_by: invokedBy(e, d) }),
      src_endpoint: srcEndpoint(e, d),
      http_request: httpRequest(d),
      // Temporal's status is "OK" or the failure's code.
      status_code: error ?? (e.source === 'temporal' ? d.takeString('status') : undefined),
      cloud: cloudOf(e, d, profiles),
    };
  },

  networkActivity(e, d, profiles) {
    const protocol = d.takeNumber('protocol');
    const end = d.takeNumber('end');
    profiles.push('security_control');
    const dst = d.string('dstaddr');
    // A port alone is no endpoint: without both addresses the record is a Base Event (REQUIRED).
    return {
      src_endpoint: address(e) === undefined ? undefined : compact({ ip: address(e), port: d.takeNumber('srcport') }),
      dst_endpoint: dst === undefined || isIP(dst) === 0 ? undefined : compact({ ip: d.takeString('dstaddr'), port: d.takeNumber('dstport') }),
      // Flow logs v2 do not say which side initiated the flow.
      connection_info: compact({ protocol_num: protocol, protocol_name: protocol === undefined ? undefined : PROTOCOL_NAMES.get(protocol), direction_id: 0, direction: 'Unknown' }),
      traffic: compact({ packets: d.takeNumber('packets'), bytes: d.takeNumber('bytes') }),
      start_time: Date.parse(e.time),
      end_time: end === undefined ? undefined : end * 1000,
      ...flowAction(e.outcome),
      cloud: cloudOf(e, d, profiles),
    };
  },
};

function metadata(e: AuditEvent, profiles: string[]): Obj {
  return compact({
    version: OCSF_VERSION,
    product: productOf(e),
    profiles: profiles.length > 0 ? profiles : undefined,
    uid: e.id,
    // The canonical ISO 8601 time: the producer's own notation is in raw_data.
    original_time: e.time,
    event_code: apiOperation(e.type) ?? e.type,
    log_name: e.origin?.logGroup ?? e.origin?.stream ?? e.origin?.bucket,
    log_provider: e.source,
    tenant_uid: e.tenant,
  })!;
}

function productOf(e: AuditEvent): Product {
  // OCSF requires a vendor; a generic producer's record does not name one.
  return PRODUCTS.get(e.source) ?? { name: e.service ?? e.source, vendor_name: 'Unknown' };
}

/** The event's clientIp when it is an IP address, which is all OCSF's `ip` attributes take. */
function address(e: AuditEvent): string | undefined {
  return e.clientIp !== undefined && isIP(e.clientIp) !== 0 ? e.clientIp : undefined;
}

/**
 * Who acted, as an OCSF user. Takes from `d` what it holds whole, so call it
 * once per event.
 */
function actorUser(e: AuditEvent, d: Details): Obj | undefined {
  const user = sourceUser(e, d);
  // OCSF's user needs a uid, a name or an account: a type alone (an AWS service's identity) is none.
  return user !== undefined && (user.uid ?? user.name ?? user.account) !== undefined ? user : undefined;
}

function sourceUser(e: AuditEvent, d: Details): Obj | undefined {
  switch (e.source) {
    case 'foxpass': {
      // With no username the actor is the bind DN, which is the uid.
      const dn = d.takeString('bind_dn');
      return compact({ uid: dn, name: e.actor === dn ? undefined : e.actor, type: d.takeString('user_type') });
    }
    case 'blitz':
      // subject_id is an identifier; the login name typed, when the record has both, is the name.
      return compact({ uid: e.actor, name: d.takeString('used_login') });
    case 'temporal':
      return temporalUser(e, d);
    case 'cloudtrail':
      return cloudtrailUser(e, d);
    default:
      return compact({ name: e.actor });
  }
}

function temporalUser(e: AuditEvent, d: Details): Obj | undefined {
  const principal = objectOr(d.get('principal'));
  const name = stringOr(principal?.name);
  const user = compact({
    uid: stringOr(principal?.id),
    name: e.actor,
    type: stringOr(principal?.type),
    // Without a principal name the actor is user_email, already out of details.
    email_addr: d.takeString('user_email') ?? (name === undefined ? e.actor : undefined),
  });
  const identified = user?.uid !== undefined || user?.name !== undefined;
  if (identified && principal && Object.entries(principal).every(([k, v]) => ['id', 'name', 'type'].includes(k) && typeof v === 'string')) d.taken('principal', principal);
  return user;
}

/** userIdentity stays in unmapped too: its session context has no place in an OCSF user. */
function cloudtrailUser(e: AuditEvent, d: Details): Obj | undefined {
  const id = objectOr(d.get('userIdentity'));
  const arn = stringOr(id?.arn);
  const principalId = stringOr(id?.principalId);
  return compact({
    uid: arn ?? principalId,
    uid_alt: arn === undefined ? undefined : principalId,
    name: stringOr(id?.userName),
    type: stringOr(id?.type),
    account: compact({ uid: stringOr(id?.accountId) }),
    credential_uid: e.sessionId,
  });
}

/** The AWS service that made a CloudTrail call for the caller (`userIdentity.invokedBy`); userIdentity stays in unmapped. */
function invokedBy(e: AuditEvent, d: Details): string | undefined {
  return e.source === 'cloudtrail' ? stringOr(objectOr(d.get('userIdentity'))?.invokedBy) : undefined;
}

/** CloudTrail's sessionId is the access key id, which is the user's credential_uid instead. */
function sessionOf(e: AuditEvent): Obj | undefined {
  return e.source === 'cloudtrail' ? undefined : compact({ uid: e.sessionId });
}

function srcEndpoint(e: AuditEvent, d: Details): Obj | undefined {
  if (e.source === 'temporal') {
    // The list reads client first, then each proxy it passed through.
    const callers = d.string('caller_ip_address')?.split(',').map((a) => a.trim()).filter((a) => a !== '');
    // A list with anything but addresses stays whole in unmapped: intermediate_ips takes addresses only.
    const addresses = callers !== undefined && callers.every((a) => isIP(a) !== 0) ? callers : undefined;
    const intermediate = addresses?.slice(1);
    if (addresses) d.taken('caller_ip_address', addresses);
    return compact({ ip: address(e), intermediate_ips: intermediate && intermediate.length > 0 ? intermediate : undefined });
  }
  // CloudTrail keeps a sourceIPAddress in details only when it is not an address: an AWS service's
  // name (`ec2.amazonaws.com`) or `AWS Internal`, which is what OCSF's svc_name holds.
  const service = e.source === 'cloudtrail' ? d.takeString('sourceIPAddress') : undefined;
  return compact({ ip: address(e), svc_name: service });
}

function httpRequest(d: Details): Obj | undefined {
  return compact({ user_agent: d.takeString('user_agent') ?? d.takeString('userAgent') });
}

function authProtocol(e: AuditEvent, d: Details): Obj {
  if (e.source === 'foxpass') {
    if (e.service === 'radius') return { auth_protocol_id: 10, auth_protocol: 'RADIUS' };
    if (e.service === 'ldap') return { auth_protocol_id: 99, auth_protocol: 'LDAP' };
    return {};
  }
  // Blitz: SAML, OAuth (OpenID Connect and OAuth 2.0), simple or internal; the original spelling stays in unmapped for the known two.
  const protocol = d.string('protocol');
  if (e.source !== 'blitz' || protocol === undefined) return {};
  const lower = protocol.toLowerCase();
  if (lower === 'saml') return { auth_protocol_id: 5, auth_protocol: 'SAML' };
  if (lower === 'oauth') return { auth_protocol_id: 6, auth_protocol: 'OAUTH 2.0' };
  return { auth_protocol_id: 99, auth_protocol: d.takeString('protocol') };
}

/** CloudTrail console sign-in: additionalEventData.MFAUsed is "Yes" or "No". */
function mfaUsed(d: Details): boolean | undefined {
  const used = objectOr(d.get('additionalEventData'))?.MFAUsed;
  return used === 'Yes' ? true : used === 'No' ? false : undefined;
}

function cloudOf(e: AuditEvent, d: Details, profiles: string[]): Obj | undefined {
  if (e.source !== 'cloudtrail' && e.source !== 'vpc-flow') return undefined;
  profiles.push('cloud');
  return compact({ provider: 'AWS', region: d.takeString('awsRegion'), account: compact({ uid: e.tenant }) });
}

/** VPC flow `action`, which became the outcome: ACCEPT → success, REJECT → failure. */
function flowAction(outcome: Outcome): Obj {
  if (outcome === 'success') return { action_id: 1, action: 'Allowed', disposition_id: 1, disposition: 'Allowed' };
  if (outcome === 'failure') return { action_id: 2, action: 'Denied', disposition_id: 2, disposition: 'Blocked' };
  return { action_id: 0, action: 'Unknown', disposition_id: 0, disposition: 'Unknown' };
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function objectOr(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** The object without its undefined members; undefined when none is left, so empty objects are not written. */
function compact(o: Obj): Obj | undefined {
  // fromEntries defines own fields: assigning a "__proto__" detail would drop it from unmapped.
  const out: Obj = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(out).length > 0 ? out : undefined;
}
