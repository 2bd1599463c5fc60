import type { AuditEvent } from '../core/event.js';
import { newEventId } from '../core/ids.js';

/** What a change to the control plane did; the event type is `auditstream.<action>`. */
export type ChangeAction =
  | 'tenant.created'
  | 'tenant.updated'
  | 'tenant.deleted'
  | 'key.created'
  | 'key.revoked'
  | 'destination.created'
  | 'destination.updated'
  | 'destination.paused'
  | 'destination.resumed'
  | 'destination.deleted'
  | 'destination.suspended';

export const CHANGE_EVENT_TYPES: readonly string[] = [
  'tenant.created',
  'tenant.updated',
  'tenant.deleted',
  'key.created',
  'key.revoked',
  'destination.created',
  'destination.updated',
  'destination.paused',
  'destination.resumed',
  'destination.deleted',
  'destination.suspended',
].map((a) => `auditstream.${a}`);

export interface Change {
  tenant: string;
  action: ChangeAction;
  /** The key that made the change: a tenant key's id, `admin` for a `server.apiKeys` key or an open server, `system` for the server itself (suspension). */
  actor: string;
  /** What was changed: a key id, a destination name, the tenant id. */
  target: string;
  /** What else a reader of the audit trail needs (never a secret). */
  details?: Record<string, unknown>;
}

/**
 * A change to a tenant's configuration as an audit event of that tenant, as
 * Temporal Cloud records "Configure Audit Logs" and Blitz `config_changed`:
 * it goes through the router like any event, to the tenant's destinations
 * and to the store.
 */
export function changeEvent(c: Change, now = new Date()): AuditEvent {
  const details = { action: c.action, target: c.target, ...(c.details ?? {}) };
  const event: AuditEvent = {
    id: newEventId(),
    time: now.toISOString(),
    type: `auditstream.${c.action}`,
    source: 'auditstream',
    service: 'control-plane',
    outcome: 'success',
    actor: c.actor,
    tenant: c.tenant,
    message: `${c.action} ${c.target}`,
    details,
    raw: '',
  };
  event.raw = JSON.stringify({ type: event.type, tenant: c.tenant, actor: c.actor, target: c.target, time: event.time, details });
  return event;
}
