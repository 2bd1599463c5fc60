/**
 * The events every benchmark sends: generic audit records of about 300 bytes
 * of JSON, with ids unique per run so the stores' id dedupe never hides work.
 * Types, actors and times vary the way searches need them to.
 */

export const TYPES = ['login', 'logout', 'ldap.bind', 'radius.authorize', 'user.create', 'role.assign', 'password.change', 'mfa.challenge'];
export const ACTORS = 1000;
/** Event n happens BASE_TIME_MS + n seconds: a million events span about 11.6 days. */
export const BASE_TIME_MS = Date.UTC(2024, 4, 1);
export const SPACING_MS = 1000;

function fields(n, tenant = 'acme') {
  const actor = `user${String(n % ACTORS).padStart(4, '0')}@example.com`;
  return {
    type: TYPES[n % TYPES.length],
    time: new Date(BASE_TIME_MS + n * SPACING_MS).toISOString(),
    actor,
    outcome: n % 10 === 0 ? 'failure' : 'success',
    clientIp: `192.0.2.${n % 250}`,
    sessionId: `s-${(n >> 4).toString(36).padStart(8, '0')}`,
    tenant,
    service: 'idp',
    message: 'signed in with password and TOTP',
    details: { userAgent: 'Mozilla/5.0 (X11; Linux)', mfa: 'totp' },
  };
}

/** One NDJSON line (no newline) as a producer would POST it; about 300 bytes. */
export function eventLine(id, n, tenant = undefined) {
  return JSON.stringify({ id, ...fields(n, tenant) });
}

/** The canonical event auditstream's generic parser makes of eventLine(id, n). */
export function auditEvent(id, n) {
  const f = fields(n);
  const { details, ...canonical } = f;
  return { id, ...canonical, source: 'generic', details, raw: JSON.stringify({ id, ...f }) };
}

/** `count` events starting at sequence `from`, ids `${prefix}-${n}`. */
export function auditEvents(prefix, from, count) {
  return Array.from({ length: count }, (_, i) => auditEvent(`${prefix}-${from + i}`, from + i));
}
