/**
 * The OCSF 1.1 classes and activities producers map their event types to.
 * Ids and captions are the schema's (schema.ocsf.io/1.1.0); `type_uid` is
 * class_uid × 100 + activity_id.
 */

export const OCSF_CLASSES = {
  base: { uid: 0, name: 'Base Event', categoryUid: 0, categoryName: 'Uncategorized' },
  accountChange: { uid: 3001, name: 'Account Change', categoryUid: 3, categoryName: 'Identity & Access Management' },
  authentication: { uid: 3002, name: 'Authentication', categoryUid: 3, categoryName: 'Identity & Access Management' },
  networkActivity: { uid: 4001, name: 'Network Activity', categoryUid: 4, categoryName: 'Network Activity' },
  apiActivity: { uid: 6003, name: 'API Activity', categoryUid: 6, categoryName: 'Application Activity' },
} as const;

export type OcsfClassKey = keyof typeof OCSF_CLASSES;

export interface OcsfActivity {
  class: OcsfClassKey;
  activityId: number;
  activityName: string;
}

/** The "not mapped" activity id every class has; activity_name then carries the source's own name. */
export const OTHER_ACTIVITY = 99;

export const logon: OcsfActivity = { class: 'authentication', activityId: 1, activityName: 'Logon' };
export const logoff: OcsfActivity = { class: 'authentication', activityId: 2, activityName: 'Logoff' };

/** An Account Change activity: 1 Create, 3 Password Change, 4 Password Reset, 6 Delete, 9 Lock, 10/11 MFA Factor Enable/Disable, or OTHER_ACTIVITY. */
export const accountChange = (activityId: number, activityName: string): OcsfActivity => ({ class: 'accountChange', activityId, activityName });

const API_VERBS: readonly [RegExp, number, string][] = [
  [/^Create(?![a-z])/, 1, 'Create'],
  [/^(Get|Describe|List)(?![a-z])/, 2, 'Read'],
  [/^(Update|Put|Set)(?![a-z])/, 3, 'Update'],
  [/^Delete(?![a-z])/, 4, 'Delete'],
];

/** API Activity's activity from the operation's leading verb: `DeleteBucket` → 4 Delete; an unknown verb is Other. */
export function apiActivity(operation: string): OcsfActivity {
  for (const [verb, activityId, activityName] of API_VERBS) {
    if (verb.test(operation)) return { class: 'apiActivity', activityId, activityName };
  }
  return { class: 'apiActivity', activityId: OTHER_ACTIVITY, activityName: operation };
}
