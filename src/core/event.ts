/**
 * The canonical audit event. Every source produces it, every sink consumes it.
 * `raw` keeps the producer's original record untouched so a sink can deliver
 * the source's own bytes (codec `raw`) and a reader can audit the mapping.
 */
export type Outcome = 'success' | 'failure' | 'unknown';

export interface AuditEvent {
  /** Client-supplied or assigned; time-ordered (UUIDv7) when assigned. Stores dedupe on it. */
  id: string;
  /** ISO 8601 with milliseconds and an offset, e.g. 2018-01-15T14:29:38.175Z. */
  time: string;
  /** Event type, e.g. `login`, `ldap.bind`, `DeleteUser`, `vpc.flow`. */
  type: string;
  /** Which format produced it: foxpass, blitz, temporal, cloudtrail, vpc-flow, generic. */
  source: string;
  /** The producing service inside the source: ldap, radius, idp, signin.amazonaws.com … */
  service?: string;
  outcome: Outcome;
  /** Who acted: username, subject id, bind DN, principal, IAM ARN. */
  actor?: string;
  clientIp?: string;
  sessionId?: string;
  /** The auditstream tenant whose destinations receive it: only a record's own `tenant` field sets it, never a producer's account id. */
  tenant?: string;
  message?: string;
  /** Every field of the original record that has no canonical slot. */
  details: Record<string, unknown>;
  /** Where the record came from inside the transport (log group, shard, object key …). */
  origin?: Record<string, string>;
  /** The original record, untouched. */
  raw: string;
}

export const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'unknown'];
