import type { AuditEvent } from '../../core/event.js';
import type { OcsfActivity } from './ocsf-classes.js';
import type { Details, Obj } from './ocsf-details.js';

/** OCSF `metadata.product`. */
export interface OcsfProduct {
  name: string;
  vendor_name: string;
}

/**
 * What one event source adds to the `ocsf` codec's mapping. Every member is
 * optional: what a source leaves out gets the default named on it. The hooks
 * that take `d` take from it what their attribute holds whole, so the rest
 * still ends in `unmapped`; each is called at most once per event.
 */
export interface OcsfMapping {
  /** `metadata.product`. Default: the event's service, else its source, as the name, and vendor `Unknown`. */
  readonly product?: OcsfProduct;
  /**
   * Event types with a fixed class and activity. They hold for any source
   * carrying the type, e.g. a generic record using Blitz's `login`.
   */
  readonly activities?: Readonly<Record<string, OcsfActivity>>;
  /** A type prefix under which every type is an API call, the rest of the type naming the operation (`cloudtrail.`). */
  readonly apiNamespace?: string;
  /** Who acted, as an OCSF user; one with no uid, name or account is dropped. Default: `{name: actor}`. */
  user?(e: AuditEvent, d: Details): Obj | undefined;
  /** `session`. Default: `{uid: sessionId}`. */
  session?(e: AuditEvent): Obj | undefined;
  /** `src_endpoint`; its `ip` only an IP address (`clientIpAddress`). Default: `{ip: clientIp}` when clientIp is one. */
  srcEndpoint?(e: AuditEvent, d: Details): Obj | undefined;
  /** `auth_protocol_id` and `auth_protocol` of an Authentication event. Default: none. */
  authProtocol?(e: AuditEvent, d: Details): Obj;
  /** `cloud`, which adds the `cloud` profile. Default: none. */
  cloud?(e: AuditEvent, d: Details): Obj | undefined;
  /** `api.service.name` of an API Activity event. Default: the event's service, else the product's name. */
  apiService?(e: AuditEvent): string | undefined;
  /** `status_code` of an API Activity event without an `errorCode`. Default: none. */
  apiStatusCode?(d: Details): string | undefined;
  /** `actor.invoked_by` of an API Activity event: the service that made the call for the actor. Default: none. */
  invokedBy?(d: Details): string | undefined;
}
