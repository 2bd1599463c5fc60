import { logon } from '../ocsf-shared/ocsf-classes.js';
import { compact } from '../ocsf-shared/ocsf-details.js';
import type { OcsfMapping } from '../ocsf-shared/ocsf-mapping.js';

/** Foxpass binds and authorizations are logons; the service names the protocol. */
export const foxpassOcsf: OcsfMapping = {
  product: { name: 'Foxpass', vendor_name: 'Foxpass' },
  activities: { 'ldap.bind': logon, 'radius.authorize': logon },

  user(e, d) {
    // With no username the actor is the bind DN, which is the uid.
    const dn = d.takeString('bind_dn');
    return compact({ uid: dn, name: e.actor === dn ? undefined : e.actor, type: d.takeString('user_type') });
  },

  authProtocol(e) {
    if (e.service === 'radius') return { auth_protocol_id: 10, auth_protocol: 'RADIUS' };
    if (e.service === 'ldap') return { auth_protocol_id: 99, auth_protocol: 'LDAP' };
    return {};
  },
};
