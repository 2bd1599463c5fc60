/**
 * The `ocsf` codec: a canonical AuditEvent as an OCSF 1.1 event
 * (docs/codecs.md has the mapping). Nothing is lost: `raw_data` keeps the
 * producer's record, `metadata.uid` the event id (so stores dedupe), and every
 * detail no OCSF attribute holds whole stays in `unmapped` under its own name.
 * The class helpers are here; what is particular to a producer (its product,
 * its types' classes, its user and endpoints) is its own `ocsf.ts`, found
 * through format-registry.ts by the event's source.
 */
import { isIP } from 'node:net';
import type { AuditEvent, Outcome } from '../core/event.js';
import { EVENT_SOURCES } from '../formats/format-registry.js';
import { apiActivity, OCSF_CLASSES, OTHER_ACTIVITY, type OcsfActivity, type OcsfClassKey } from '../formats/ocsf-shared/ocsf-classes.js';
import { clientIpAddress, compact, Details, objectOr, type Obj } from '../formats/ocsf-shared/ocsf-details.js';
import type { OcsfMapping, OcsfProduct } from '../formats/ocsf-shared/ocsf-mapping.js';

export const OCSF_VERSION = '1.1.0';

const STATUS: Readonly<Record<Outcome, { id: number; name: string }>> = {
  success: { id: 1, name: 'Success' },
  failure: { id: 2, name: 'Failure' },
  unknown: { id: 0, name: 'Unknown' },
};

const NO_MAPPING: OcsfMapping = {};
const MAPPINGS: ReadonlyMap<string, OcsfMapping> = new Map(EVENT_SOURCES.flatMap((s) => (s.ocsf === undefined ? [] : [[s.name, s.ocsf] as const])));

/** Every source's fixed classes by event type; two sources claiming one type would make its class depend on load order. */
const BY_TYPE: ReadonlyMap<string, OcsfActivity> = (() => {
  const byType = new Map<string, OcsfActivity>();
  for (const source of EVENT_SOURCES) {
    for (const [type, activity] of Object.entries(source.ocsf?.activities ?? {})) {
      if (byType.has(type)) throw new Error(`OCSF: event type "${type}" is mapped by two sources (the second is ${source.name})`);
      byType.set(type, activity);
    }
  }
  return byType;
})();

/** Operation-name namespaces whose every operation is an API call. */
const API_NAMESPACES: readonly string[] = EVENT_SOURCES.flatMap((s) => s.ocsf?.apiNamespace ?? []);

/** The operation name inside an API namespace (`cloudtrail.DeleteBucket` → `DeleteBucket`), else undefined. */
function apiOperation(type: string): string | undefined {
  const ns = API_NAMESPACES.find((p) => type.startsWith(p) && type.length > p.length);
  return ns === undefined ? undefined : type.slice(ns.length);
}

function classify(event: Pick<AuditEvent, 'type'>): OcsfActivity {
  const fixed = BY_TYPE.get(event.type);
  if (fixed !== undefined) return fixed;
  const operation = apiOperation(event.type);
  if (operation !== undefined) return apiActivity(operation);
  return { class: 'base', activityId: OTHER_ACTIVITY, activityName: event.type };
}

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
const REQUIRED: Readonly<Record<OcsfClassKey, readonly string[]>> = {
  base: [],
  accountChange: ['user'],
  authentication: ['user'],
  networkActivity: ['src_endpoint', 'dst_endpoint'],
  apiActivity: ['api', 'actor', 'src_endpoint'],
};

/** Canonical fields a class has no attribute for; they go to `unmapped` under their canonical names. */
const UNPLACED: Readonly<Record<OcsfClassKey, readonly (keyof AuditEvent)[]>> = {
  base: ['actor', 'clientIp', 'sessionId', 'service'],
  accountChange: ['service'],
  authentication: [],
  networkActivity: ['actor', 'sessionId', 'service'],
  apiActivity: [],
};

export function toOcsf(event: AuditEvent): Obj {
  return inClass(event, classify(event)) ?? inClass(event, { class: 'base', activityId: OTHER_ACTIVITY, activityName: event.type })!;
}

/** The event in the activity's class; undefined when it lacks what the class requires. */
function inClass(event: AuditEvent, activity: OcsfActivity): Obj | undefined {
  const cls = OCSF_CLASSES[activity.class];
  const d = new Details(event.details);
  const m = MAPPINGS.get(event.source) ?? NO_MAPPING;
  const profiles: string[] = [];
  const attributes = ATTRIBUTES[activity.class](event, d, m, profiles);
  if (REQUIRED[activity.class].some((k) => attributes[k] === undefined)) return undefined;
  const status = STATUS[event.outcome];
  // A clientIp that is no address has no OCSF attribute in any class.
  const unplacedFields = new Set([...UNPLACED[activity.class], ...(clientIpAddress(event) === undefined ? (['clientIp'] as const) : [])]);
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
    metadata: metadata(event, m, profiles),
    ...attributes,
    raw_data: event.raw,
    // The transport's origin wins over a detail of that name; raw_data still holds the record's own field.
    unmapped: compact({ ...d.rest, ...unplaced, origin: event.origin }),
  })!;
}

type AttributeMapper = (event: AuditEvent, d: Details, m: OcsfMapping, profiles: string[]) => Obj;

const ATTRIBUTES: Readonly<Record<OcsfClassKey, AttributeMapper>> = {
  base: () => ({}),

  authentication(e, d, m, profiles) {
    const user = actorUser(e, d, m);
    return {
      user,
      actor: compact({ user }),
      session: sessionOf(e, m),
      src_endpoint: srcEndpoint(e, d, m),
      // OCSF wants the service or the destination of a logon; the service is what we know.
      service: { name: e.service ?? productOf(e, m).name },
      ...m.authProtocol?.(e, d),
      is_mfa: mfaUsed(d),
      http_request: httpRequest(d),
      status_detail: d.takeString('error'),
      cloud: cloudOf(e, d, m, profiles),
    };
  },

  accountChange(e, d, m) {
    const actor = actorUser(e, d, m);
    // Blitz: object_id is the account operated on, subject_id (the actor) who did it.
    const target = compact({ uid: d.takeString('object_id') });
    return {
      user: target ?? actor,
      actor: compact({ user: actor, session: sessionOf(e, m) }),
      src_endpoint: srcEndpoint(e, d, m),
      http_request: httpRequest(d),
      status_detail: d.takeString('error'),
    };
  },

  apiActivity(e, d, m, profiles) {
    const error = d.takeString('errorCode');
    return {
      api: compact({
        operation: apiOperation(e.type),
        service: compact({ name: m.apiService !== undefined ? m.apiService(e) : (e.service ?? productOf(e, m).name) }),
        request: compact({ uid: d.takeString('requestID') ?? d.takeString('request_id') }),
        response: compact({ error, error_message: error === undefined ? undefined : e.message }),
      }),
      actor: compact({ user: actorUser(e, d, m), session: sessionOf(e, m), invoked_by: m.invokedBy?.(d) }),
      src_endpoint: srcEndpoint(e, d, m),
      http_request: httpRequest(d),
      status_code: error ?? m.apiStatusCode?.(d),
      cloud: cloudOf(e, d, m, profiles),
    };
  },

  networkActivity(e, d, m, profiles) {
    const protocol = d.takeNumber('protocol');
    const end = d.takeNumber('end');
    profiles.push('security_control');
    const src = clientIpAddress(e);
    const dst = d.string('dstaddr');
    // A port alone is no endpoint: without both addresses the record is a Base Event (REQUIRED).
    return {
      src_endpoint: src === undefined ? undefined : compact({ ip: src, port: d.takeNumber('srcport') }),
      dst_endpoint: dst === undefined || isIP(dst) === 0 ? undefined : compact({ ip: d.takeString('dstaddr'), port: d.takeNumber('dstport') }),
      connection_info: compact({
        protocol_num: protocol,
        protocol_name: protocol === undefined ? undefined : PROTOCOL_NAMES.get(protocol),
        protocol_ver_id: d.taken('type', IP_VERSION_IDS.get(d.string('type') ?? '')),
        tcp_flags: d.takeNumber('tcp-flags'),
        // Default-format flow logs (v2) do not say which way the flow went; `flow-direction` (v5) does.
        ...flowDirection(d),
      }),
      traffic: compact({ packets: d.takeNumber('packets'), bytes: d.takeNumber('bytes') }),
      start_time: Date.parse(e.time),
      end_time: end === undefined ? undefined : end * 1000,
      ...flowAction(e.outcome),
      cloud: cloudOf(e, d, m, profiles),
    };
  },
};

function metadata(e: AuditEvent, m: OcsfMapping, profiles: string[]): Obj {
  return compact({
    version: OCSF_VERSION,
    product: productOf(e, m),
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

function productOf(e: AuditEvent, m: OcsfMapping): OcsfProduct {
  // OCSF requires a vendor; a generic producer's record does not name one.
  return m.product ?? { name: e.service ?? e.source, vendor_name: 'Unknown' };
}

/**
 * Who acted, as an OCSF user. Takes from `d` what it holds whole, so call it
 * once per event.
 */
function actorUser(e: AuditEvent, d: Details, m: OcsfMapping): Obj | undefined {
  const user = m.user !== undefined ? m.user(e, d) : compact({ name: e.actor });
  // OCSF's user needs a uid, a name or an account: a type alone (an AWS service's identity) is none.
  return user !== undefined && (user.uid ?? user.name ?? user.account) !== undefined ? user : undefined;
}

function sessionOf(e: AuditEvent, m: OcsfMapping): Obj | undefined {
  return m.session !== undefined ? m.session(e) : compact({ uid: e.sessionId });
}

function srcEndpoint(e: AuditEvent, d: Details, m: OcsfMapping): Obj | undefined {
  return m.srcEndpoint !== undefined ? m.srcEndpoint(e, d) : compact({ ip: clientIpAddress(e) });
}

function httpRequest(d: Details): Obj | undefined {
  return compact({ user_agent: d.takeString('user_agent') ?? d.takeString('userAgent') });
}

/** CloudTrail console sign-in: additionalEventData.MFAUsed is "Yes" or "No". */
function mfaUsed(d: Details): boolean | undefined {
  const used = objectOr(d.get('additionalEventData'))?.MFAUsed;
  return used === 'Yes' ? true : used === 'No' ? false : undefined;
}

function cloudOf(e: AuditEvent, d: Details, m: OcsfMapping, profiles: string[]): Obj | undefined {
  if (m.cloud === undefined) return undefined;
  profiles.push('cloud');
  return m.cloud(e, d);
}

const IP_VERSION_IDS: ReadonlyMap<string, number> = new Map([['IPv4', 4], ['IPv6', 6]]);

/** VPC flow `flow-direction`, as seen from the network interface the record is about. */
function flowDirection(d: Details): Obj {
  const direction = d.string('flow-direction');
  if (direction === 'ingress') return { direction_id: d.taken('flow-direction', 1), direction: 'Inbound' };
  if (direction === 'egress') return { direction_id: d.taken('flow-direction', 2), direction: 'Outbound' };
  return { direction_id: 0, direction: 'Unknown' };
}

/** VPC flow `action`, which became the outcome: ACCEPT → success, REJECT → failure. */
function flowAction(outcome: Outcome): Obj {
  if (outcome === 'success') return { action_id: 1, action: 'Allowed', disposition_id: 1, disposition: 'Allowed' };
  if (outcome === 'failure') return { action_id: 2, action: 'Denied', disposition_id: 2, disposition: 'Blocked' };
  return { action_id: 0, action: 'Unknown', disposition_id: 0, disposition: 'Unknown' };
}
