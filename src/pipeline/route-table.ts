import type { AuditEvent } from '../core/event.js';
import type { Emitter } from './emitter.js';

/** Distinct (tenant, type) pairs remembered before the cache starts over: event types are producer-chosen and unbounded. */
const MAX_CACHED_ROUTES = 10_000;

/**
 * Which emitters take an event: every global emitter (the config file's)
 * whose filter accepts it, and the destinations of the event's own tenant
 * whose filter accepts it — never another tenant's. Filters look at the
 * event type only, so the answer is cached per (tenant, type) and costs a
 * map lookup however many destinations exist; any change to the emitters
 * empties the cache.
 */
export class RouteTable {
  private readonly global: Emitter[] = [];
  private readonly byId = new Map<string, Emitter>();
  private readonly byTenant = new Map<string, Map<string, Emitter>>();
  /** tenant ('' for none) → event type → emitter ids. Nested maps: no joined key a crafted tenant or type could collide with. */
  private readonly cache = new Map<string, Map<string, readonly string[]>>();
  private cached = 0;

  constructor(global: readonly Emitter[] = []) {
    for (const e of global) this.add(e);
  }

  /** Emitter ids that take `event`, in a stable order (global first). */
  routesFor(event: AuditEvent): readonly string[] {
    const tenant = event.tenant ?? '';
    const hit = this.cache.get(tenant)?.get(event.type);
    if (hit) return hit;
    const routes = this.global.filter((e) => e.accepts(event)).map((e) => e.name);
    const own = event.tenant === undefined ? undefined : this.byTenant.get(event.tenant);
    if (own) for (const e of own.values()) if (e.accepts(event)) routes.push(e.name);
    if (this.cached >= MAX_CACHED_ROUTES) this.invalidate();
    let ofTenant = this.cache.get(tenant);
    if (!ofTenant) this.cache.set(tenant, (ofTenant = new Map()));
    ofTenant.set(event.type, routes);
    this.cached += 1;
    return routes;
  }

  emitter(id: string): Emitter | undefined {
    return this.byId.get(id);
  }

  /** Adds an emitter, or replaces the one with its name. */
  add(e: Emitter): void {
    this.remove(e.name);
    this.byId.set(e.name, e);
    if (e.tenant === undefined) this.global.push(e);
    else {
      let own = this.byTenant.get(e.tenant);
      if (!own) this.byTenant.set(e.tenant, (own = new Map()));
      own.set(e.name, e);
    }
    this.invalidate();
  }

  /** Stops routing to `id`; events already queued for it stay in the journal. */
  remove(id: string): Emitter | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    if (e.tenant === undefined) this.global.splice(this.global.indexOf(e), 1);
    else {
      const own = this.byTenant.get(e.tenant)!;
      own.delete(id);
      if (own.size === 0) this.byTenant.delete(e.tenant);
    }
    this.invalidate();
    return e;
  }

  private invalidate(): void {
    this.cache.clear();
    this.cached = 0;
  }
}
