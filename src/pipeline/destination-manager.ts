import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditstreamConfig } from '../config/schema.js';
import { readOrCreateSecretKey, secretKeyFile } from '../config/secure-params.js';
import type { AuditEvent } from '../core/event.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { DeadLetterFile } from '../queue/dead-letter-file.js';
import type { Journal } from '../queue/journal.js';
import type { ConnectGuard } from '../sinks/sink.js';
import type { PublishResult } from '../sources/source.js';
import { CHANGE_EVENT_TYPES, changeEvent, type ChangeAction } from '../tenants/change-event.js';
import type { TenantDirectory } from '../tenants/tenant-directory.js';
import type { ControlStore } from '../tenants/control-store.js';
import { connectGuard } from '../tenants/connect-guard.js';
import { redactSecrets, sealSecrets, unsealSecrets } from '../tenants/destination-secrets.js';
import { secretScrubber } from '../tenants/secret-scrubber.js';
import { scrubbingLogger } from '../tenants/scrubbing-logger.js';
import { destinationId, type DestinationRecord, type DestinationState, type Tenant } from '../tenants/tenant.js';
import { Emitter } from './emitter.js';
import { resolveEmitters, type ResolvedEmitter } from './emitter-config.js';
import { eventTypeFilter } from './event-filter.js';
import type { PipelineMetrics } from './metrics.js';
import { createSink, definedOnly } from './pipeline.js';
import type { RouteTable } from './route-table.js';
import { SINKS } from './sink-registry.js';
import { testAndAdd, type TestAndAddResult } from './test-and-add.js';

/** How often a suspended destination is tried again. */
export const SUSPENDED_RETRY_MS = 3_600_000;
/** How long DELETE ?backlog=drain waits for the backlog before answering that it goes on draining in the background. */
export const DRAIN_WAIT_MS = 10_000;
const DRAIN_POLL_MS = 100;

/** A destination's keys are wrong (unknown keys, bad values, a sink's own check): each problem with its key path. */
/** Types whose `roleArn` is assumed with an External ID. */
const ASSUMES_ROLE: ReadonlySet<string> = new Set(['kinesis', 's3']);

export class DestinationConfigError extends Error {
  readonly code = 'DESTINATION_INVALID';
  constructor(readonly problems: readonly { key: string; error: string }[]) {
    super(problems.map((p) => (p.key ? `${p.key}: ${p.error}` : p.error)).join('; '));
    this.name = 'DestinationConfigError';
  }
}

export interface DestinationManagerOptions {
  config: AuditstreamConfig;
  dataDir: string;
  journal: Journal;
  routes: RouteTable;
  store: ControlStore;
  /** Every tenant, as loaded at start: the stored destinations start with their tenant's quotas. */
  tenants: TenantDirectory;
  logger: Logger;
  metrics: PipelineMetrics;
  /** The router's publish: change events go through it like any event. */
  publish: (events: AuditEvent[]) => Promise<PublishResult>;
}

/** A destination as answers show it: secrets redacted, its run-time state and health. */
export interface DestinationView {
  tenant: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  state: DestinationState;
  /** Set while DELETE ?backlog=drain delivers what is left. */
  deleting?: true;
  health: ReturnType<Emitter['health']> | { lastError: string };
  createdAt: string;
  updatedAt: string;
}

interface Running {
  record: DestinationRecord;
  /** Undefined when the stored config no longer starts (e.g. the sealing key changed): shown failing with the reason. */
  emitter: Emitter | undefined;
  startError?: string;
  suspended: boolean;
  deleting: boolean;
  /** The destination's own `queue` keys; its cap in the journal is the lower of these and its tenant's quota. */
  queue?: { maxBytes: number; whenFull: 'block' | 'dropOldest' };
}

/**
 * Runs tenants' destinations: adds, replaces, pauses, resumes and removes
 * their emitters while the server runs, keeping the control store in step
 * so every change outlives a restart, and publishing every change as an
 * audit event of its tenant. A destination's journal id is `<tenant>/<name>`.
 */
export class DestinationManager {
  private readonly running = new Map<string, Running>();
  /** The same entries by tenant, so a tenant's count and list cost its own destinations, not every tenant's. */
  private readonly byTenant = new Map<string, Map<string, Running>>();
  private sealingKey: Buffer | undefined;
  private readonly watch: NodeJS.Timeout;
  /** Every connection of a tenant's sink, its test's included, is judged by the destination policy when made. */
  private readonly guard: ConnectGuard;

  constructor(private readonly opts: DestinationManagerOptions) {
    this.guard = connectGuard(opts.config.tenants.destinationPolicy);
    const suspendAfterMs = opts.config.tenants.suspendAfterSec * 1000;
    // Often enough that a suspension is seen well within a tenth of suspendAfterSec, at most once a minute.
    this.watch = setInterval(() => this.checkSuspensions(), Math.min(60_000, Math.max(100, suspendAfterMs / 10)));
    this.watch.unref();
  }

  /** Starts every stored destination; one that no longer starts is kept, shown failing, and the others run. */
  async load(): Promise<void> {
    for (const record of await this.opts.store.allDestinations()) {
      const tenant = this.opts.tenants.get(record.tenant);
      if (!tenant) continue;
      let plain: Record<string, unknown> | undefined;
      try {
        plain = this.opened(record);
        await this.run(record, tenant, plain);
      } catch (err) {
        // The reason goes to the log and the tenant's health, and may quote the config (a parser the text it stopped at).
        // One that unsealing gave names the key it could not open and no value: with nothing opened there is nothing to scrub.
        const reason = plain ? secretScrubber(record.type, plain)(errorMessage(err)) : errorMessage(err);
        this.opts.logger.error({ destination: destinationId(record.tenant, record.name), err: reason }, 'a stored tenant destination does not start; it is shown failing');
        this.keep({ record, emitter: undefined, startError: reason, suspended: false, deleting: false });
      }
    }
  }

  /**
   * The emitter config of a tenant's destination block, checked as the
   * config file's emitters are (the sink's own keys, strictly). `enabled`
   * is refused: pause and resume do that.
   */
  /**
   * The emitter a destination's config makes. A role is always assumed with
   * the tenant's own External ID, added here and never taken from the config
   * (which may repeat it, as the CloudFormation Outputs give it, but name no
   * other): with an ID of its choosing, or none, a tenant could have the
   * vendor assume another customer's role.
   */
  resolve(tenant: Pick<Tenant, 'id' | 'externalId'>, name: string, type: string, stored: Record<string, unknown>): ResolvedEmitter {
    if (stored.externalId !== undefined && stored.externalId !== tenant.externalId) {
      throw new DestinationConfigError([{ key: 'externalId', error: "is not this tenant's External ID (GET /v1/tenants/{tenant}); a tenant's role is always assumed with its own, so leave it out" }]);
    }
    const config = ASSUMES_ROLE.has(type) && stored.roleArn !== undefined ? { ...stored, externalId: tenant.externalId } : stored;
    if ('enabled' in config) throw new DestinationConfigError([{ key: 'enabled', error: 'not a destination key; pause and resume the destination instead' }]);
    if ('name' in config || 'type' in config) throw new DestinationConfigError([{ key: 'name' in config ? 'name' : 'type', error: 'given beside the config, not inside it' }]);
    const errors: ConfigError[] = [];
    const [resolved] = resolveEmitters(
      // include/exclude may name the config's event types and the change events a tenant receives.
      { emitters: [{ ...config, type, name }], eventTypes: [...this.opts.config.audit.eventTypes, ...CHANGE_EVENT_TYPES] },
      // No config schema judged these blocks: their include, queue, retry and batch are reported here, each with its key.
      { sinks: SINKS, dataDir: this.opts.dataDir, maxEventBytes: this.opts.config.server.limits.maxEventBytes, reportCommonKeys: true },
      errors,
    );
    if (errors.length > 0 || !resolved) {
      const problems = errors.map((e) => ({ key: e.path.replace(/^audit\.emitters\[0\]\.?/, ''), error: e.problem }));
      throw new DestinationConfigError(problems.length > 0 ? problems : [{ key: '', error: 'not a valid destination' }]);
    }
    return { ...resolved, name: destinationId(tenant.id, name) };
  }

  /**
   * Test & Add's test of `resolved`, made from the plain `config` of a
   * destination of `type`: the sink's step-by-step check. What the sink logs
   * and what its steps say (an endpoint with its query, an echoed header)
   * pass through that config's secret scrubber.
   */
  async test(resolved: ResolvedEmitter, type: string, config: Record<string, unknown>): Promise<TestAndAddResult> {
    const scrub = secretScrubber(type, config);
    const logger = scrubbingLogger(this.opts.logger, { emitter: resolved.name }, scrub);
    const result = await testAndAdd(resolved, { dataDir: this.opts.dataDir, logger, metrics: this.opts.metrics.registry, connectGuard: this.guard });
    return { ...result, steps: result.steps.map((s) => ({ ...s, step: scrub(s.step), detail: scrub(s.detail) })) };
  }

  /** Stores and starts a new destination (its config already resolved, tested and allowed). */
  async create(tenant: Tenant, name: string, type: string, config: Record<string, unknown>, actor: string): Promise<DestinationView> {
    const now = new Date().toISOString();
    const record: DestinationRecord = { tenant: tenant.id, name, type, config: sealSecrets(type, config, this.key()), paused: false, createdAt: now, updatedAt: now };
    await this.opts.store.createDestination(record);
    try {
      await this.run(record, tenant);
    } catch (err) {
      // Saved but not running would come back at the next start unannounced: saved only if it runs.
      await this.opts.store.deleteDestination(tenant.id, name);
      throw err;
    }
    this.announce(tenant.id, 'destination.created', actor, name, { type, config: redactSecrets(type, config) });
    return this.view(tenant.id, name)!;
  }

  /** Replaces a destination's config; its backlog is kept and goes to the new config, in order. */
  async update(tenant: Tenant, name: string, config: Record<string, unknown>, actor: string): Promise<DestinationView | undefined> {
    const current = this.running.get(destinationId(tenant.id, name));
    if (!current || current.deleting) return undefined;
    const record: DestinationRecord = { ...current.record, config: sealSecrets(current.record.type, config, this.key()), updatedAt: new Date().toISOString() };
    if (!(await this.opts.store.updateDestination(record))) return undefined;
    await this.halt(current);
    await this.run(record, tenant);
    this.announce(tenant.id, 'destination.updated', actor, name, { config: redactSecrets(record.type, config) });
    return this.view(tenant.id, name);
  }

  async pause(tenant: string, name: string, actor: string): Promise<DestinationView | undefined> {
    return this.setPaused(tenant, name, true, actor);
  }

  /** Delivers the backlog again, in order; also lifts a suspension and retries at once. */
  async resume(tenant: string, name: string, actor: string): Promise<DestinationView | undefined> {
    return this.setPaused(tenant, name, false, actor);
  }

  /**
   * Removes a destination. `discard` drops its backlog at once (counted in
   * the change event and the `destination_deleted` discard metric);
   * `drain` stops routing new events to it, delivers what is queued, and
   * removes it when the backlog is empty — answering `drained: false` if
   * that takes longer than DRAIN_WAIT_MS (it goes on in the background).
   */
  async remove(tenant: string, name: string, backlog: 'drain' | 'discard', actor: string): Promise<{ drained: boolean; discardedEvents: number } | undefined> {
    const id = destinationId(tenant, name);
    const current = this.running.get(id);
    if (!current) return undefined;
    if (backlog === 'drain' && current.deleting) return { drained: false, discardedEvents: 0 };
    this.opts.routes.remove(id);
    const emitter = current.emitter;
    if (backlog === 'drain' && emitter && emitter.health().backlog.events > 0) {
      current.deleting = true;
      emitter.resume();
      emitter.setRetryFloor(0);
      const drained = this.drainThenForget(current, tenant, name, actor);
      const done = await Promise.race([drained, new Promise<false>((r) => setTimeout(() => r(false), DRAIN_WAIT_MS).unref())]);
      return { drained: done, discardedEvents: 0 };
    }
    const discardedEvents = emitter?.health().backlog.events ?? 0;
    if (discardedEvents > 0) emitter!.discarded('destination_deleted', discardedEvents);
    await this.forget(current);
    this.announce(tenant, 'destination.deleted', actor, name, { backlog, discardedEvents });
    return { drained: discardedEvents === 0, discardedEvents };
  }

  view(tenant: string, name: string): DestinationView | undefined {
    const r = this.running.get(destinationId(tenant, name));
    return r && viewOf(r);
  }

  list(tenant: string): DestinationView[] {
    return [...(this.byTenant.get(tenant)?.values() ?? [])].map(viewOf).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The stored config with its secrets opened: what a PATCH merges into and a test runs with. */
  storedConfig(tenant: string, name: string): Record<string, unknown> | undefined {
    const r = this.running.get(destinationId(tenant, name));
    return r && this.opened(r.record);
  }

  count(tenant: string): number {
    return this.byTenant.get(tenant)?.size ?? 0;
  }

  /** A tenant's quotas changed: every running destination of it takes the new backlog cap at once. */
  applyQuotas(tenant: Tenant): void {
    for (const r of this.byTenant.get(tenant.id)?.values() ?? []) {
      if (!r.queue) continue;
      this.opts.journal.addDestination(destinationId(tenant.id, r.record.name), { maxBytes: Math.min(r.queue.maxBytes, tenant.quotas.maxBacklogBytes), whenFull: r.queue.whenFull });
    }
  }

  /** A tenant deleted: its destinations stop and their backlogs go (the store removed their rows with the tenant). */
  async removeTenant(tenant: string): Promise<void> {
    for (const r of [...(this.byTenant.get(tenant)?.values() ?? [])]) {
      this.opts.routes.remove(destinationId(tenant, r.record.name));
      await this.forget(r, false);
    }
  }

  /** Delivers until the deadline, then leaves the rest queued for the next start. */
  async stop(deadline: number): Promise<void> {
    clearInterval(this.watch);
    await Promise.all([...this.running.values()].map((r) => r.emitter?.stop(deadline)));
    for (const r of this.running.values()) await this.closeSink(r);
  }

  private async run(record: DestinationRecord, tenant: Tenant, plain = this.opened(record)): Promise<void> {
    const { journal, dataDir, logger, metrics, routes } = this.opts;
    const id = destinationId(record.tenant, record.name);
    const r = this.resolve(tenant, record.name, record.type, plain);
    // Made once from the config as opened: a sink's errors and log lines may quote its secrets, and its health, logs and dead letters may not.
    const scrub = secretScrubber(record.type, plain);
    const sink = await createSink(r, { emitterName: id, dataDir, logger: scrubbingLogger(logger, { emitter: id }, scrub), metrics: metrics.registry, connectGuard: this.guard });
    // The tenant's quota caps every backlog; the destination's own queue.maxBytes may only lower it.
    const queue = journal.addDestination(id, { maxBytes: Math.min(r.common.queue.maxBytes, tenant.quotas.maxBacklogBytes), whenFull: r.common.queue.whenFull });
    const emitter = new Emitter({
      name: id,
      type: record.type,
      tenant: record.tenant,
      sink,
      journal,
      queue,
      deadLetter: new DeadLetterFile(join(dataDir, 'dead-letter', 'tenants', record.tenant, `${record.name}.ndjson`), id),
      accepts: eventTypeFilter(r.common.include, r.common.exclude),
      retry: r.common.retry,
      batch: { ...sink.batch, ...definedOnly(r.common.batch ?? {}) },
      logger,
      metrics,
      scrub,
    });
    if (record.paused) emitter.pause();
    emitter.start();
    routes.add(emitter);
    this.keep({ record, emitter, suspended: false, deleting: false, queue: { maxBytes: r.common.queue.maxBytes, whenFull: r.common.queue.whenFull } });
  }

  /** The stored config with its secrets opened. */
  private opened(record: DestinationRecord): Record<string, unknown> {
    return unsealSecrets(record.type, record.config, this.key(), `destination ${destinationId(record.tenant, record.name)}`);
  }

  private async setPaused(tenant: string, name: string, paused: boolean, actor: string): Promise<DestinationView | undefined> {
    const current = this.running.get(destinationId(tenant, name));
    if (!current || current.deleting) return undefined;
    const record = { ...current.record, paused, updatedAt: new Date().toISOString() };
    if (!(await this.opts.store.updateDestination(record))) return undefined;
    current.record = record;
    const wasSuspended = current.suspended;
    if (paused) current.emitter?.pause();
    else {
      current.suspended = false;
      current.emitter?.setRetryFloor(0);
      current.emitter?.resume();
    }
    this.announce(tenant, paused ? 'destination.paused' : 'destination.resumed', actor, name, wasSuspended && !paused ? { wasSuspended: true } : undefined);
    return viewOf(current);
  }

  private async drainThenForget(current: Running, tenant: string, name: string, actor: string): Promise<boolean> {
    while (current.emitter && current.emitter.health().backlog.events > 0 && this.running.get(destinationId(tenant, name)) === current) {
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
    if (this.running.get(destinationId(tenant, name)) !== current) return false;
    await this.forget(current);
    this.announce(tenant, 'destination.deleted', actor, name, { backlog: 'drain', discardedEvents: 0 });
    return true;
  }

  /** Stops the emitter, releases its backlog, and deletes its row (unless the tenant's deletion did). */
  private async forget(current: Running, deleteRow = true): Promise<void> {
    const id = destinationId(current.record.tenant, current.record.name);
    this.drop(current.record.tenant, current.record.name);
    await this.halt(current);
    this.opts.journal.removeDestination(id);
    if (deleteRow) await this.opts.store.deleteDestination(current.record.tenant, current.record.name);
  }

  /** Stops the emitter now: an in-flight send is abandoned and its events stay queued. */
  private async halt(current: Running): Promise<void> {
    const e = current.emitter;
    if (!e) return;
    await e.stop(Date.now());
    await this.closeSink(current);
    this.opts.metrics.removeEmitter(e.name);
  }

  private async closeSink({ emitter }: Running): Promise<void> {
    // What the sink says when it fails to close may quote its config's secrets too.
    await emitter?.sink.close().catch((err) => this.opts.logger.error({ emitter: emitter.name, err: emitter.said(errorMessage(err)) }, 'sink close failed'));
  }

  /** Adds or replaces the entry of its destination. */
  private keep(r: Running): void {
    const { tenant, name } = r.record;
    this.running.set(destinationId(tenant, name), r);
    let own = this.byTenant.get(tenant);
    if (!own) this.byTenant.set(tenant, (own = new Map()));
    own.set(name, r);
  }

  private drop(tenant: string, name: string): void {
    this.running.delete(destinationId(tenant, name));
    const own = this.byTenant.get(tenant);
    own?.delete(name);
    if (own?.size === 0) this.byTenant.delete(tenant);
  }

  private checkSuspensions(): void {
    const afterMs = this.opts.config.tenants.suspendAfterSec * 1000;
    for (const r of this.running.values()) {
      const e = r.emitter;
      if (!e || r.deleting) continue;
      const failingMs = e.failingForMs();
      if (!r.suspended && failingMs > afterMs && !r.record.paused) {
        r.suspended = true;
        e.setRetryFloor(SUSPENDED_RETRY_MS);
        this.opts.logger.warn({ destination: e.name, failingSec: Math.round(failingMs / 1000) }, 'tenant destination suspended: failing longer than tenants.suspendAfterSec; retried hourly');
        const { failingSince, lastError } = e.health();
        this.announce(r.record.tenant, 'destination.suspended', 'system', r.record.name, { failingSince, lastError });
      } else if (r.suspended && failingMs === 0) {
        // A retry delivered: it resumes by itself.
        r.suspended = false;
        e.setRetryFloor(0);
      }
    }
  }

  private announce(tenant: string, action: ChangeAction, actor: string, target: string, details?: Record<string, unknown>): void {
    const event = changeEvent({ tenant, action, actor, target, ...(details ? { details } : {}) });
    this.opts.publish([event]).then(
      (result) => {
        if (!result.ok) this.opts.logger.warn({ tenant, action, failed: result.failed }, 'a control-plane change event was not confirmed by every emitter');
      },
      (err: unknown) => this.opts.logger.error({ tenant, action, err: errorMessage(err) }, 'a control-plane change event could not be published'),
    );
  }

  private key(): Buffer {
    this.sealingKey ??= readOrCreateSecretKey(secretKeyFile(this.opts.dataDir), process.env);
    return this.sealingKey;
  }
}

function viewOf(r: Running): DestinationView {
  const { record, emitter } = r;
  const state: DestinationState = record.paused ? 'paused' : r.suspended ? 'suspended' : !emitter || emitter.failingForMs() > 0 ? 'failing' : 'active';
  const health = emitter ? emitter.health() : { lastError: r.startError ?? 'not running' };
  return {
    tenant: record.tenant,
    name: record.name,
    type: record.type,
    config: redactSecrets(record.type, record.config),
    state,
    ...(r.deleting ? { deleting: true as const } : {}),
    health,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

