/**
 * Which OCSF 1.1 class and activity an event type is. Ids and captions are
 * the schema's (schema.ocsf.io/1.1.0); `type_uid` is class_uid × 100 + activity_id.
 */
import type { AuditEvent } from '../../core/event.js';

export const OCSF_CLASSES = {
  base: { uid: 0, name: 'Base Event', categoryUid: 0, categoryName: 'Uncategorized' },
  accountChange: { uid: 3001, name: 'Account Change', categoryUid: 3, categoryName: 'Identity & Access Management' },
  authentication: { uid: 3002, name: 'Authentication', categoryUid: 3, categoryName: 'Identity & Access Management' },
  networkActivity: { uid: 4001, name: 'Network Activity', categoryUid: 4, categoryName: 'Network Activity' },
  apiActivity: { uid: 6003, name: 'API Activity', categoryUid: 6, categoryName: 'Application Activity' },
} as const;

type OcsfClassKey = keyof typeof OCSF_CLASSES;

export interface OcsfActivity {
  class: OcsfClassKey;
  activityId: number;
  activityName: string;
}

/** The "not mapped" activity id every class has; activity_name then carries the source's own name. */
export const OTHER_ACTIVITY = 99;

const logon: OcsfActivity = { class: 'authentication', activityId: 1, activityName: 'Logon' };
const logoff: OcsfActivity = { class: 'authentication', activityId: 2, activityName: 'Logoff' };
const account = (activityId: number, activityName: string): OcsfActivity => ({ class: 'accountChange', activityId, activityName });
const create = account(1, 'Create');
const passwordChange = account(3, 'Password Change');
const passwordReset = account(4, 'Password Reset');
const del = account(6, 'Delete');
const lock = account(9, 'Lock');
const mfaEnable = account(10, 'MFA Factor Enable');
const mfaDisable = account(11, 'MFA Factor Disable');

/**
 * Event types with a fixed class: Foxpass, Blitz (also
 * any producer using Blitz's names through the generic parser), CloudTrail
 * console sign-in and VPC flow records. OCSF 1.1 Account Change has no
 * Unlock and no role change activity: those are Other with their own name.
 */
const BY_TYPE: ReadonlyMap<string, OcsfActivity> = new Map(
  Object.entries({
    'ldap.bind': logon,
    'radius.authorize': logon,
    login: logon,
    login_failed: logon,
    login_stopped: logon,
    auth: logon,
    auth_failed: logon,
    logout: logoff,
    'cloudtrail.ConsoleLogin': logon,

    registration: create,
    admin_added: create,
    internal_user_deleted: del,
    admin_removed: del,
    user_password_changed: passwordChange,
    admin_pswd_changed: passwordChange,
    // Set by an administrator or through access recovery: the owner did not supply the old password.
    reset_user_password: passwordReset,
    recovery: passwordReset,
    recovery_fail: passwordReset,
    user_locked: lock,
    user_unlocked: account(OTHER_ACTIVITY, 'Unlock'),
    admin_roles_changed: account(OTHER_ACTIVITY, 'Roles Change'),
    totp_attached: mfaEnable,
    hotp_attached: mfaEnable,
    duo_put: mfaEnable,
    web_authn_reg_key: mfaEnable,
    totp_detached: mfaDisable,
    hotp_detached: mfaDisable,
    duo_remove: mfaDisable,
    web_authn_revoke_key: mfaDisable,

    'vpc.flow': { class: 'networkActivity', activityId: 6, activityName: 'Traffic' },
  }),
);

/** Operation-name namespaces whose every operation is an API call. */
const API_NAMESPACES = ['cloudtrail.', 'temporal.'] as const;

const API_VERBS: readonly [RegExp, number, string][] = [
  [/^Create(?![a-z])/, 1, 'Create'],
  [/^(Get|Describe|List)(?![a-z])/, 2, 'Read'],
  [/^(Update|Put|Set)(?![a-z])/, 3, 'Update'],
  [/^Delete(?![a-z])/, 4, 'Delete'],
];

/** API Activity's activity from the operation's leading verb: `DeleteBucket` → 4 Delete; an unknown verb is Other. */
function apiActivity(operation: string): OcsfActivity {
  for (const [verb, activityId, activityName] of API_VERBS) {
    if (verb.test(operation)) return { class: 'apiActivity', activityId, activityName };
  }
  return { class: 'apiActivity', activityId: OTHER_ACTIVITY, activityName: operation };
}

/** The operation name inside an API namespace (`cloudtrail.DeleteBucket` → `DeleteBucket`), else undefined. */
export function apiOperation(type: string): string | undefined {
  const ns = API_NAMESPACES.find((p) => type.startsWith(p) && type.length > p.length);
  return ns === undefined ? undefined : type.slice(ns.length);
}

export function classify(event: Pick<AuditEvent, 'type'>): OcsfActivity {
  const fixed = BY_TYPE.get(event.type);
  if (fixed !== undefined) return fixed;
  const operation = apiOperation(event.type);
  if (operation !== undefined) return apiActivity(operation);
  return { class: 'base', activityId: OTHER_ACTIVITY, activityName: event.type };
}
