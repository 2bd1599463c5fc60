import { isIP } from 'node:net';
import { clientIpAddress, compact, objectOr, stringOr } from '../ocsf-shared/ocsf-details.js';
import type { OcsfMapping } from '../ocsf-shared/ocsf-mapping.js';
import { TEMPORAL_NAMESPACE } from './event-types.js';

const CALLER_FIELDS = ['caller_ip_address', 'xForwardedFor', 'x_forwarded_for'] as const;

/** Every Temporal Cloud operation is a call of its API. */
export const temporalOcsf: OcsfMapping = {
  product: { name: 'Temporal Cloud', vendor_name: 'Temporal Technologies' },
  apiNamespace: TEMPORAL_NAMESPACE,

  user(e, d) {
    const principal = objectOr(d.get('principal'));
    const name = stringOr(principal?.name);
    const user = compact({
      uid: stringOr(principal?.id),
      name: e.actor,
      type: stringOr(principal?.type),
      // Without a principal name the actor is user_email, already out of details.
      email_addr: d.takeString('user_email') ?? (name === undefined ? e.actor : undefined),
    });
    // The principal leaves unmapped only with a user the codec keeps, which needs a uid or a name.
    const identified = user?.uid !== undefined || user?.name !== undefined;
    if (identified && principal && Object.entries(principal).every(([k, v]) => ['id', 'name', 'type'].includes(k) && typeof v === 'string')) d.taken('principal', principal);
    return user;
  },

  srcEndpoint(e, d) {
    // The list reads client first, then each proxy it passed through.
    // v1 writes caller_ip_address; v2 xForwardedFor, or x_forwarded_for in some records.
    const field = CALLER_FIELDS.find((f) => d.string(f) !== undefined);
    const callers = field === undefined ? undefined : d.string(field)?.split(',').map((a) => a.trim()).filter((a) => a !== '');
    // A list with anything but addresses stays whole in unmapped: intermediate_ips takes addresses only.
    const addresses = callers !== undefined && callers.every((a) => isIP(a) !== 0) ? callers : undefined;
    const intermediate = addresses?.slice(1);
    if (field !== undefined && addresses) d.taken(field, addresses);
    return compact({ ip: clientIpAddress(e), intermediate_ips: intermediate && intermediate.length > 0 ? intermediate : undefined });
  },

  // Temporal's status is "OK" or the failure's code.
  apiStatusCode: (d) => d.takeString('status'),
};
