/**
 * The tenancy model: a tenant (a customer of the operator), its API keys and
 * its destinations. The control store (control-store.ts) keeps them; the
 * server's tenant routes change them; the pipeline runs the destinations.
 */

/** A tenant id, a destination name: lower-case, URL- and file-name-safe, never "." or "..". */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DESTINATION_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export type Scope = 'ingest' | 'read' | 'manage';
export const SCOPES: readonly Scope[] = ['ingest', 'read', 'manage'];

export interface TenantQuotas {
  /** Sustained ingest rate, events per second; over it ingest answers 429 with Retry-After. */
  ingestEventsPerSec: number;
  /** Events that may arrive at once above the sustained rate (token bucket depth). */
  ingestBurst: number;
  /** Destinations this tenant may have. */
  maxDestinations: number;
  /** Cap on each destination's backlog in the journal (bytes); a destination's own `queue.maxBytes` may only lower it. */
  maxBacklogBytes: number;
}

export interface Tenant {
  id: string;
  name: string;
  /** Vendor-generated (external-id.ts), never chosen by the tenant: the `sts:ExternalId` its roles must require. */
  externalId: string;
  quotas: TenantQuotas;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeyRecord {
  /** Public part of the key, shown in lists and used as the actor of changes. */
  id: string;
  tenant: string;
  name: string;
  scopes: Scope[];
  /** SHA-256 of the secret (api-key-secret.ts); the secret itself is never stored. */
  secretHash: Buffer;
  createdAt: string;
}

/**
 * A destination as stored: its emitter keys with secrets sealed. `paused` is
 * the only state a user sets; `failing` and `suspended` are observed at run time.
 */
export interface DestinationRecord {
  tenant: string;
  name: string;
  type: string;
  /** The emitter block without `type` and `name` (include/exclude/queue/retry/batch and the sink's own keys); secret values sealed (`enc:v1:`). */
  config: Record<string, unknown>;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
}

export type DestinationState = 'active' | 'paused' | 'failing' | 'suspended';

/**
 * The id a tenant's destination has in the journal, the emitter list and
 * metrics. Global (config file) emitter names never contain "/", so the two
 * namespaces cannot collide.
 */
export function destinationId(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}
