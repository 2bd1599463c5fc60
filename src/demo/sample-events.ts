import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Realistic producer records in the producers' own formats (docs/producers.md):
 * Foxpass LDAP binds and RADIUS authorizations, Blitz Identity Provider
 * events, Temporal Cloud audit records. The demo and the
 * benchmarks post them as a producer would.
 */
const USERS = ['alice', 'bob', 'carol', 'dmitry', 'eve', 'farida', 'gunnar', 'hana'];
const IPS = ['203.0.113.10', '198.51.100.23', '192.0.2.44', '213.230.116.179', '10.1.2.3'];
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

function foxpassTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function foxpassRecord(now = new Date()): Record<string, unknown> {
  const username = pick(USERS);
  const success = Math.random() > 0.15;
  if (Math.random() < 0.6) {
    return {
      service: 'ldap',
      method: 'bind',
      message: success ? 'bind succeeded' : 'invalid credentials',
      timestamp: foxpassTime(now),
      success,
      bind_dn: `uid=${username},ou=people,dc=example,dc=com`,
      user_type: 'user',
      username,
    };
  }
  return { service: 'radius', method: 'authorize', message: success ? 'access accepted' : 'access rejected', timestamp: foxpassTime(now), success, ipAddress: pick(IPS), username };
}

export function blitzRecord(now = new Date()): Record<string, unknown> {
  const subject = `BIP-${100000 + Math.floor(Math.random() * 900000)}`;
  const type = pick(['login', 'login', 'login', 'login_failed', 'logout', 'token_granted', 'user_password_changed', 'admin_roles_changed']);
  return {
    id: `${Date.now()}${Math.floor(Math.random() * 1000)}-${randomBytes(4).readUInt32BE()}`,
    type,
    timestamp: now.getTime(),
    subject_id: subject,
    object_id: subject,
    session_id: randomUUID(),
    ip: pick(IPS),
    protocol: pick(['oAuth', 'SAML']),
    auth_methods: pick(['password', 'cls:password', 'password,totp']),
    lp_id: pick(['test-system', 'hr-portal', 'vpn']),
    user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
    ...(type === 'login_failed' ? { error: 'wrong_password', failed_method: 'password' } : {}),
  };
}

export function temporalRecord(now = new Date()): Record<string, unknown> {
  const user = `${pick(USERS)}@example.com`;
  const operation = pick(['DeleteUser', 'CreateUser', 'UpdateNamespace', 'CreateApiKey', 'SetUserNamespaceAccess']);
  return {
    emit_time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    level: 'LOG_LEVEL_INFO',
    caller_ip_address: `${pick(IPS)}, 10.4.5.6`,
    user_email: user,
    operation,
    details: { target_users: [randomUUID()], search_attribute_update: {} },
    status: Math.random() > 0.1 ? 'OK' : 'PERMISSION_DENIED',
    category: 'LOG_CATEGORY_ADMIN',
    log_id: randomBytes(16).toString('hex'),
    request_id: randomUUID(),
    principal: { id: randomUUID(), type: 'user', name: user },
  };
}

/** One record in a randomly chosen producer's format. */
export function sampleRecord(now = new Date()): Record<string, unknown> {
  const r = Math.random();
  return r < 0.45 ? foxpassRecord(now) : r < 0.85 ? blitzRecord(now) : temporalRecord(now);
}
