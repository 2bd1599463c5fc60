/**
 * The event-type catalog, as data, so that `include` / `exclude` lists are
 * validated at start-up: a typo such as "logn" must fail loudly instead of
 * silently routing nothing.
 */

/** Blitz Identity Provider security event types (its audit record's `type` attribute, docs/producers.md). */
export const BLITZ_EVENT_TYPES: Readonly<Record<string, string>> = {
  admin_added: 'administrator added',
  admin_pswd_changed: 'administrator password changed',
  admin_removed: 'administrator removed',
  admin_roles_changed: 'administrator roles changed',
  app_password_changed: 'the password for the application is set',
  attribute_changed: 'attribute added, changed or deleted',
  attribute_confirmed: 'attribute confirmed',
  auth: 'authentication performed (OAuth 2.0 Resource Owner Password Credentials)',
  auth_failed: 'authentication error',
  auth_req: 'authentication request',
  authz_granted: 'OAuth authorization issued',
  authz_rejected: 'OAuth authorization denied',
  authz_revoked: 'OAuth authorization revoked',
  bind_ext_account: 'account is bound to an external account',
  config_changed: 'changed configuration settings',
  duo_put: 'Duo Mobile app is bound',
  duo_remove: 'Duo Mobile application is unbound',
  grant_right: 'assigning access rights',
  group_attr_changed: "user group's attribute has been changed or deleted",
  group_registered: 'user group created',
  group_removed: 'user group deleted',
  hotp_attached: 'HOTP generator is bound',
  hotp_detached: 'HOTP generator is unbound',
  internal_user_deleted: 'account deleted',
  locked_methods_changed: 'changed the list of blocked authentication methods',
  login: 'login is performed',
  login_failed: 'login error',
  login_stopped: 'unsuccessful login',
  logout: 'user is logged out',
  logout_req: 'logout request',
  member_added: 'the user is joined to the user group',
  member_removed: 'user excluded from the user group',
  needed_password_change: 'flag of password change necessity is set',
  recovery: 'account access restored',
  recovery_fail: 'access recovery failed',
  recovery_req: 'access recovery is requested',
  registration: 'account is registered',
  registration_req: 'registration is requested',
  required_factor_changed: 'changed user authentication mode',
  reset_user_password: 'password set by administrator',
  reset_user_sessions: 'log out devices (reset sessions)',
  revoke_right: 'revoke access rights',
  send_email_code: 'confirmation code sent to email',
  send_push_code: 'confirmation code sent to Push',
  send_sms_code: 'confirmation code sent by SMS',
  token_exchange_failed: 'access token exchange denied',
  token_exchanged: 'access token has been exchanged',
  token_granted: 'access token issued',
  totp_attached: 'TOTP generator is bound',
  totp_detached: 'TOTP generator is unbound',
  unbind_ext_account: 'account is unbound from external account',
  user_locked: 'account locked',
  user_password_changed: 'user password changed',
  user_sec_qsn_changed: 'security question changed',
  user_sec_qsn_removed: 'security question removed',
  user_unlocked: 'account unlocked',
  web_authn_reg_key: 'security key added',
  web_authn_revoke_key: 'security key removed',
};

/** Blitz event types whose name alone says the operation failed. */
export const BLITZ_FAILURE_TYPES: ReadonlySet<string> = new Set([
  'auth_failed',
  'authz_rejected',
  'login_failed',
  'login_stopped',
  'recovery_fail',
  'token_exchange_failed',
]);

/** Foxpass: `service.method`. */
export const FOXPASS_EVENT_TYPES: Readonly<Record<string, string>> = {
  'ldap.bind': 'Foxpass LDAP bind attempt',
  'radius.authorize': 'Foxpass RADIUS authorization request',
};

/** Types auditstream assigns to records of the collector formats. */
export const COLLECTOR_EVENT_TYPES: Readonly<Record<string, string>> = {
  'vpc.flow': 'VPC Flow Logs record',
  'vpc.nodata': 'VPC Flow Logs: no traffic in the aggregation interval',
  'vpc.skipdata': 'VPC Flow Logs: records skipped in the aggregation interval',
  'cloudwatch.log': 'CloudWatch Logs event no parser recognised',
  unparsed: 'record no parser accepted, kept with its raw text',
};

/**
 * Open namespaces: the operation names of these producers are not a closed
 * list (Temporal Cloud operations, CloudTrail eventNames), so any name under
 * the prefix is accepted.
 */
export const OPEN_NAMESPACES: readonly string[] = ['temporal.', 'cloudtrail.'];

export function knownEventTypes(extra: readonly string[] = []): Set<string> {
  return new Set([
    ...Object.keys(BLITZ_EVENT_TYPES),
    ...Object.keys(FOXPASS_EVENT_TYPES),
    ...Object.keys(COLLECTOR_EVENT_TYPES),
    ...extra,
  ]);
}

/**
 * Checks one include/exclude entry. Returns null when valid, else the problem
 * (with a suggestion when a known type is one edit or transposition away).
 * Entries may end in `*` to match a prefix, e.g. `temporal.*` or `admin_*`.
 */
export function eventTypeProblem(entry: string, known: ReadonlySet<string>): string | null {
  if (entry.endsWith('*')) {
    const prefix = entry.slice(0, -1);
    if (prefix === '' || OPEN_NAMESPACES.some((ns) => ns.startsWith(prefix) || prefix.startsWith(ns))) return null;
    for (const t of known) if (t.startsWith(prefix)) return null;
    return `pattern "${entry}" matches no known event type`;
  }
  if (known.has(entry)) return null;
  if (OPEN_NAMESPACES.some((ns) => entry.startsWith(ns) && entry.length > ns.length)) return null;
  const near = [...known].filter((t) => editDistance(t, entry) <= 2).sort();
  const hint = near.length > 0 ? ` (did you mean ${near.map((t) => `"${t}"`).join(' or ')}?)` : '';
  return `unknown event type "${entry}"${hint}; add it to audit.eventTypes if your producer sends it`;
}

export function matchesEventType(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}
