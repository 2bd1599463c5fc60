/** Foxpass: `service.method`. */
export const FOXPASS_EVENT_TYPES: Readonly<Record<string, string>> = {
  'ldap.bind': 'Foxpass LDAP bind attempt',
  'radius.authorize': 'Foxpass RADIUS authorization request',
};
