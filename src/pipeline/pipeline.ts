import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { configSchema, serverSchema, type AuditstreamConfig } from '../config/schema.js';
import { checkConfig } from '../config/validate.js';
import { ConfigError, errorMessage, throwConfigErrors } from '../core/errors.js';
import { DeadLetterFile, emitterDeadLetterPath } from '../queue/dead-letter-file.js';
import { EmbeddedJournal } from '../queue/embedded-journal.js';
import { migrateLegacyQueues } from '../queue/legacy-queue-migration.js';
import { AuditStoreSink } from '../sinks/audit-store.js';
import type { Sink, SinkContext } from '../sinks/sink.js';
import type { Publisher, Source, SourceType } from '../sources/source.js';
import { SearchService } from '../store/search-service.js';
import { DataDirLock, prepareDataDir } from './data-dir.js';
import { DeliveryPolicy } from './delivery-policy.js';
import { Emitter } from './emitter.js';
import { isRecord, quietly, resolveEmitters, type ResolvedEmitter } from './emitter-config.js';
import { eventTypeFilter } from './event-filter.js';
import { PipelineMetrics } from './metrics.js';
import { DestinationManager } from './destination-manager.js';
import { RouteTable } from './route-table.js';
import { Router } from './router.js';
import { SINKS } from './sink-registry.js';
import { SOURCES } from './source-registry.js';
import type { ControlStore } from '../tenants/control-store.js';
import { IngestQuota } from '../tenants/ingest-quota.js';
import { KeyRing } from '../tenants/key-ring.js';
import { openControlStore } from '../tenants/open-control-store.js';
import { scrubbingLogger } from '../tenants/scrubbing-logger.js';
import { secretScrubber } from '../tenants/secret-scrubber.js';
import { TenantDirectory } from '../tenants/tenant-directory.js';

/** The running engine: sources → router → the journal (each event once, for every emitter taking it) → sinks. */
export class Pipeline {
  private constructor(
    readonly config: AuditstreamConfig,
    readonly dataDir: string,
    readonly router: Router,
    readonly emitters: Emitter[],
    /** Every emitter as configured, enabled or not, in config order. */
    readonly configured: ResolvedEmitter[],
    /** Configured but `enabled: false`: listed, never fed. */
    readonly disabled: ResolvedEmitter[],
    /** Search over the store of the first enabled audit-store emitter, sharing that sink's store. */
    readonly search: SearchService,
    readonly sources: Source[],
    readonly metrics: PipelineMetrics,
    private readonly logger: Logger,
    private readonly lock: DataDirLock,
    private readonly journal: EmbeddedJournal,
    /** Tenants, their keys and destinations (docs/tenants.md). */
    readonly tenancy: Tenancy,
    /** Tenants' destinations, run beside the config file's emitters. */
    readonly destinations: DestinationManager,
  ) {}

  /**
   * The one validation `config check` and `serve` share: the config schema,
   * every emitter's and source's own keys and checks, and the limits that
   * must fit together. Reads (TLS files, keystores) and never writes or
   * connects. Throws every problem found at once (ConfigErrors for several);
   * `raw` is the config as loaded, before the schema.
   */
  static validate(raw: unknown): ValidatedConfig {
    const errors: ConfigError[] = [];
    const config = checkConfig(configSchema, raw, '', errors);
    return Pipeline.resolveComponents(raw, config, errors);
  }

  /**
   * The emitters' and sources' own checks. `start` runs them on a config the
   * schema already parsed: its output is not always valid input again
   * (`audit.eventTime` becomes epoch milliseconds), so it is not parsed twice.
   */
  private static resolveComponents(raw: unknown, config: AuditstreamConfig | undefined, errors: ConfigError[]): ValidatedConfig {
    const top = isRecord(raw) ? raw : {};
    const dataDir = resolve(config?.dataDir ?? quietly(configSchema.shape.dataDir, top.dataDir) ?? '.');
    const limits = quietly(serverSchema.shape.limits, isRecord(top.server) ? top.server.limits : undefined);
    const emitters = resolveEmitters(isRecord(top.audit) ? top.audit : {}, { sinks: SINKS, dataDir, maxEventBytes: limits?.maxEventBytes }, errors);
    const sources = resolveSources(Array.isArray(top.sources) ? top.sources : [], errors);
    throwConfigErrors(errors);
    return { config: config!, emitters, sources };
  }

  static async start(config: AuditstreamConfig, logger: Logger, metrics = new PipelineMetrics()): Promise<Pipeline> {
    const { emitters: resolved, sources: resolvedSources } = Pipeline.resolveComponents(config, config, []);
    const dataDir = prepareDataDir(config.dataDir, logger);
    // Before any queue is opened: a second pipeline on these files would deliver every event twice.
    // Held until stop(); if start fails it stays held, as queues may already be open.
    const lock = DataDirLock.acquire(dataDir);
    const journal = EmbeddedJournal.open({ dir: join(dataDir, 'journal'), segmentBytes: config.journal.segmentBytes, cacheBytes: config.journal.cacheBytes, logger, registry: metrics.registry });
    const store = await openControlStore(config.tenants, dataDir);
    const tenancy: Tenancy = {
      store,
      keys: new KeyRing(await store.allKeys()),
      tenants: new TenantDirectory(await store.listTenants()),
      quota: new IngestQuota(),
    };
    const enabled = resolved.filter((r) => r.common.enabled);
    const disabled = resolved.filter((r) => !r.common.enabled);
    // Registered before the old queues move in, so each emitter's cap and policy apply from its first event.
    const queues = new Map(enabled.map((r) => [r.name, journal.addDestination(r.name, { maxBytes: r.common.queue.maxBytes, whenFull: r.common.queue.whenFull })]));
    const migration = await migrateLegacyQueues(dataDir, journal, logger);
    const emitters: Emitter[] = [];
    for (const r of enabled) {
      // As for a tenant's destination: a receiver may quote the credentials it refused, and logs, health and dead letters leave the server.
      const scrub = isRecord(r.sinkConfig) ? secretScrubber(r.common.type, r.sinkConfig) : undefined;
      const sinkLogger = scrub ? scrubbingLogger(logger, { emitter: r.name }, scrub) : logger.child({ emitter: r.name });
      const sink = await createSink(r, { emitterName: r.name, dataDir, logger: sinkLogger, metrics: metrics.registry });
      emitters.push(
        new Emitter({
          name: r.name,
          type: r.common.type,
          sink,
          journal,
          queue: queues.get(r.name)!,
          corruptQueueMovedTo: migration.movedAside.get(r.name) ?? journal.movedAside.at(-1),
          deadLetter: new DeadLetterFile(emitterDeadLetterPath(dataDir, r.name), r.name),
          accepts: eventTypeFilter(r.common.include, r.common.exclude),
          retry: r.common.retry,
          batch: { ...sink.batch, ...definedOnly(r.common.batch ?? {}) },
          logger,
          metrics,
          scrub,
        }),
      );
    }
    const policy = new DeliveryPolicy(config.audit);
    const routes = new RouteTable(emitters);
    const router = new Router({ routes, journal, policy, ack: config.audit.ack, timeoutMs: config.audit.emitTimeoutInSec * 1000, logger, metrics });
    // Sources are created before any emitter starts: one that refuses its state (a ConfigError) stops the start with nothing running.
    const sources: Source[] = [];
    for (const { path, name, definition, config: sourceConfig } of resolvedSources) {
      sources.push(
        (await definition.load()).create(name, sourceConfig, {
          configPath: path,
          dataDir,
          logger: logger.child({ source: name }),
          metrics: metrics.registry,
          component: metrics.component('source', name, definition.type),
          eventTime: config.audit.eventTime,
          maxDepth: config.server.limits.maxDepth,
        }),
      );
    }
    for (const e of emitters) e.start();
    const destinations = new DestinationManager({ config, dataDir, journal, routes, store, tenants: tenancy.tenants, logger, metrics, publish: (events) => router.publish(events) });
    await destinations.load();
    const unclaimed = journal.unclaimed();
    if (unclaimed.length > 0) {
      // Kept, not dropped: an emitter disabled or renamed for a while gets its events when it comes back.
      logger.warn({ destinations: unclaimed }, 'the journal holds events for destinations not in the config or the control store; they are kept until an emitter of that name is enabled');
    }
    const pipeline = new Pipeline(config, dataDir, router, emitters, resolved, disabled, searchServiceOf(emitters), sources, metrics, logger, lock, journal, tenancy, destinations);
    for (const [i, s] of sources.entries()) {
      const tenant = resolvedSources[i]!.tenant;
      if (tenant !== undefined && !(await store.getTenant(tenant))) {
        // Not refused: tenants are made through the API and may come after the config names them. Until then its events reach only global emitters.
        logger.warn({ source: s.name, tenant }, 'the source names a tenant that does not exist (yet); its events go to global emitters only until the tenant is created');
      }
      await s.start(tenant === undefined ? router : tenantPublisher(router, tenant));
    }
    return pipeline;
  }

  emitter(name: string): Emitter | undefined {
    return this.emitters.find((e) => e.name === name);
  }

  /** Stops sources first (they checkpoint), then drains emitters until the deadline. */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.sources.map((s) => s.stop().catch((err) => this.logger.error({ source: s.name, err: errorMessage(err) }, 'source stop failed'))));
    await Promise.all([...this.emitters.map((e) => e.stop(deadline)), this.destinations.stop(deadline)]);
    for (const e of this.emitters) {
      await e.sink.close().catch((err) => this.logger.error({ emitter: e.name, err: e.said(errorMessage(err)) }, 'sink close failed'));
    }
    await this.journal.close();
    await this.tenancy.store.close().catch((err) => this.logger.error({ err: errorMessage(err) }, 'control store close failed'));
    this.lock.release();
  }
}

/**
 * The first enabled audit-store emitter answers search (config order): with
 * several, the others are written to and not searched. The service reads the
 * sink's own store, so there is one connection pool, closed with the sink.
 */
function searchServiceOf(emitters: readonly Emitter[]): SearchService {
  for (const e of emitters) {
    if (e.sink instanceof AuditStoreSink) return SearchService.of(e.name, e.sink.store);
  }
  return SearchService.none();
}

/** Loads the sink's implementation (and its SDK) on the first emitter of its type. */
export async function createSink(r: ResolvedEmitter, ctx: Omit<SinkContext, 'configPath'>): Promise<Sink> {
  return (await r.definition.load()).create(r.sinkConfig, { ...ctx, configPath: r.path });
}

export interface Tenancy {
  store: ControlStore;
  keys: KeyRing;
  /** Every tenant in memory, so ingest checks the tenants events name without a query. */
  tenants: TenantDirectory;
  /** Each tenant's ingest rate (token buckets). */
  quota: IngestQuota;
}

export interface ValidatedConfig {
  config: AuditstreamConfig;
  emitters: ResolvedEmitter[];
  sources: ResolvedSource[];
}

/** Checks every `sources` entry: a known type, a distinct name, the source's own keys (strictly). */
function resolveSources(blocks: readonly unknown[], errors: ConfigError[]): ResolvedSource[] {
  const seen = new Map<string, string>();
  const out: ResolvedSource[] = [];
  blocks.forEach((block, i) => {
    const path = `sources[${i}]`;
    if (!isRecord(block) || typeof block.type !== 'string') return; // the config schema said so
    const { type, name: given, tenant, ...rest } = block;
    const before = errors.length;
    const definition = SOURCES.get(type);
    if (!definition) {
      if (type !== '') errors.push(new ConfigError(`${path}.type`, `unknown source type "${type}" (known: ${[...SOURCES.keys()].sort().join(', ') || 'none'}; HTTP ingest is always on)`));
      return;
    }
    const name = typeof given === 'string' ? given : `${type}-${i}`;
    // A name keys the source's checkpoints and progress: two sources on one name would overwrite each other's.
    const earlier = seen.get(name);
    if (earlier) errors.push(new ConfigError(`${path}.name`, `duplicate source name "${name}" (also ${earlier}); give each source a distinct name`));
    else seen.set(name, path);
    const config = checkConfig(definition.schema, rest, path, errors);
    if (errors.length === before) out.push({ path, name, definition, config, ...(typeof tenant === 'string' ? { tenant } : {}) });
  });
  return out;
}

interface ResolvedSource {
  /** `sources[1]`. */
  path: string;
  name: string;
  definition: SourceType<unknown>;
  config: unknown;
  /** `tenant`: every event of the source is that tenant's. */
  tenant?: string;
}

/**
 * A source's events all belong to its tenant: the record's own `tenant`
 * field (auditstream and generic formats) cannot move them to another, as a
 * tenant key's cannot at ingest. The record keeps what it said in `raw`.
 */
function tenantPublisher(router: Router, tenant: string): Publisher {
  return {
    publish(events, signal) {
      // New objects, not the source's: a source may have serialised its events already (their JSON is cached by object).
      return router.publish(events.map((e) => (e.tenant === tenant ? e : { ...e, tenant })), signal);
    },
  };
}

export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
