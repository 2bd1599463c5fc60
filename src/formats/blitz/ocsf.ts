import { accountChange, logoff, logon, OTHER_ACTIVITY } from '../ocsf-shared/ocsf-classes.js';
import { compact } from '../ocsf-shared/ocsf-details.js';
import type { OcsfMapping } from '../ocsf-shared/ocsf-mapping.js';

const create = accountChange(1, 'Create');
const passwordChange = accountChange(3, 'Password Change');
const passwordReset = accountChange(4, 'Password Reset');
const del = accountChange(6, 'Delete');
const lock = accountChange(9, 'Lock');
const mfaEnable = accountChange(10, 'MFA Factor Enable');
const mfaDisable = accountChange(11, 'MFA Factor Disable');

/**
 * Blitz's sign-ins are logons and its account operations Account Change
 * activities, also for any producer using Blitz's names through the generic
 * parser. OCSF 1.1 Account Change has no Unlock and no role change activity:
 * those are Other with their own name. The rest of the catalogue is Base Event.
 */
export const blitzOcsf: OcsfMapping = {
  product: { name: 'Blitz Identity Provider', vendor_name: 'Identity Blitz' },
  activities: {
    login: logon,
    login_failed: logon,
    login_stopped: logon,
    auth: logon,
    auth_failed: logon,
    logout: logoff,

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
    user_unlocked: accountChange(OTHER_ACTIVITY, 'Unlock'),
    admin_roles_changed: accountChange(OTHER_ACTIVITY, 'Roles Change'),
    totp_attached: mfaEnable,
    hotp_attached: mfaEnable,
    duo_put: mfaEnable,
    web_authn_reg_key: mfaEnable,
    totp_detached: mfaDisable,
    hotp_detached: mfaDisable,
    duo_remove: mfaDisable,
    web_authn_revoke_key: mfaDisable,
  },

  user(e, d) {
    // subject_id is an identifier; the login name typed, when the record has both, is the name.
    return compact({ uid: e.actor, name: d.takeString('used_login') });
  },

  authProtocol(_e, d) {
    // SAML, OAuth (OpenID Connect and OAuth 2.0), simple or internal; the original spelling stays in unmapped for the known two.
    const protocol = d.string('protocol');
    if (protocol === undefined) return {};
    const lower = protocol.toLowerCase();
    if (lower === 'saml') return { auth_protocol_id: 5, auth_protocol: 'SAML' };
    if (lower === 'oauth') return { auth_protocol_id: 6, auth_protocol: 'OAUTH 2.0' };
    return { auth_protocol_id: 99, auth_protocol: d.takeString('protocol') };
  },
};
