import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AuditstreamConfig } from '../config/schema.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { DeadLetterFile } from '../queue/dead-letter-file.js';
import { DiskQueue } from '../queue/disk-queue.js';
import type { Sink, SinkContext } from '../sinks/sink.js';
import type { Source, SourceDefinition } from '../sources/source.js';
import { parseConfig } from '../config/validate.js';
import { DeliveryPolicy } from './delivery-policy.js';
import { Emitter } from './emitter.js';
import { resolveEmitters, type ResolvedEmitter } from './emitter-config.js';
import { eventTypeFilter } from './event-filter.js';
import { PipelineMetrics } from './metrics.js';
import { Router } from './router.js';
import { SINKS } from './sink-registry.js';
import { SOURCES } from './source-registry.js';

/** The running engine: sources → router → per-emitter durable queues → sinks. */
export class Pipeline {
  private constructor(
    readonly config: AuditstreamConfig,
    readonly dataDir: string,
    readonly router: Router,
    readonly emitters: Emitter[],
    /** Configured but `enabled: false`: listed, never fed. */
    readonly disabled: ResolvedEmitter[],
    readonly sources: Source[],
    readonly metrics: PipelineMetrics,
    private readonly logger: Logger,
  ) {}

  /** Validates the config against the sinks and sources without starting anything. */
  static validate(config: AuditstreamConfig): { emitters: ResolvedEmitter[]; sources: ResolvedSource[] } {
    const emitters = resolveEmitters(config.audit, SINKS);
    const sources = config.sources.map((s, i): ResolvedSource => {
      const definition = SOURCES.get(s.type);
      if (!definition) throw new ConfigError(`sources[${i}].type`, `unknown source type "${s.type}" (known: ${[...SOURCES.keys()].sort().join(', ') || 'none'}; HTTP ingest is always on)`);
      const { type: _t, name, ...rest } = s;
      return { index: i, name: name ?? `${s.type}-${i}`, definition, config: parseConfig(definition.schema, rest, `sources[${i}]`) };
    });
    return { emitters, sources };
  }

  static async start(config: AuditstreamConfig, logger: Logger, metrics = new PipelineMetrics()): Promise<Pipeline> {
    const { emitters: resolved, sources: resolvedSources } = Pipeline.validate(config);
    const dataDir = resolve(config.dataDir);
    const emitters: Emitter[] = [];
    const disabled: ResolvedEmitter[] = [];
    for (const r of resolved) {
      if (!r.common.enabled) {
        disabled.push(r);
        continue;
      }
      const sink = createSink(r, { emitterName: r.name, dataDir, logger: logger.child({ emitter: r.name }), metrics: metrics.registry });
      const queue = new DiskQueue({
        name: r.name,
        file: join(dataDir, 'queues', `${r.name}.db`),
        maxBytes: r.common.queue.maxBytes,
        whenFull: r.common.queue.whenFull,
        logger,
      });
      emitters.push(
        new Emitter({
          name: r.name,
          type: r.common.type,
          sink,
          queue,
          deadLetter: new DeadLetterFile(join(dataDir, 'dead-letter', `${r.name}.ndjson`), r.name),
          accepts: eventTypeFilter(r.common.include, r.common.exclude),
          retry: r.common.retry,
          batch: { ...sink.batch, ...definedOnly(r.common.batch ?? {}) },
          logger,
          metrics,
        }),
      );
    }
    const policy = new DeliveryPolicy(config.audit);
    const router = new Router({ emitters, policy, ack: config.audit.ack, timeoutMs: config.audit.emitTimeoutInSec * 1000, logger, metrics });
    for (const e of emitters) e.start();
    const sources = resolvedSources.map(({ index: i, name, definition, config: sourceConfig }) => {
      try {
        return definition.create(name, sourceConfig, { dataDir, logger: logger.child({ source: name }), metrics: metrics.registry, eventTime: config.audit.eventTime });
      } catch (err) {
        // A source knows its name, not its place in the list: put the index in the key path.
        if (err instanceof ConfigError && !/^sources\[\d+\]/.test(err.path)) {
          const rest = err.path.replace(/^sources\[name=[^\]]*\]\.?/, '');
          throw new ConfigError(rest ? `sources[${i}].${rest}` : `sources[${i}]`, err.problem);
        }
        throw err;
      }
    });
    const pipeline = new Pipeline(config, dataDir, router, emitters, disabled, sources, metrics, logger);
    for (const s of sources) await s.start(router);
    return pipeline;
  }

  emitter(name: string): Emitter | undefined {
    return this.emitters.find((e) => e.name === name);
  }

  /** Stops sources first (they checkpoint), then drains emitters until the deadline. */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.sources.map((s) => s.stop().catch((err) => this.logger.error({ source: s.name, err: errorMessage(err) }, 'source stop failed'))));
    await Promise.all(this.emitters.map((e) => e.stop(deadline)));
    for (const e of this.emitters) {
      await e.sink.close().catch((err) => this.logger.error({ emitter: e.name, err: errorMessage(err) }, 'sink close failed'));
    }
    for (const e of this.emitters) e.closeQueue();
  }
}

/** Creates the sink; a ConfigError found only at creation (a keystore, a file) gets the emitter's path. */
export function createSink(r: ResolvedEmitter, ctx: SinkContext): Sink {
  try {
    return r.definition.create(r.sinkConfig, ctx);
  } catch (err) {
    if (err instanceof ConfigError && !err.path.startsWith('audit.')) throw new ConfigError(err.path ? `${r.path}.${err.path}` : r.path, err.problem);
    throw err;
  }
}

interface ResolvedSource {
  index: number;
  name: string;
  definition: SourceDefinition<unknown>;
  config: unknown;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
