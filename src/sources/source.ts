import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ZodType } from 'zod';
import type { ComponentMetrics } from '../core/component-metrics.js';
import type { AuditEvent } from '../core/event.js';
import type { EventTimeBounds } from '../core/time.js';

export interface PublishResult {
  /** True when the delivery policy holds for every event (see README "What acknowledged means"). */
  ok: boolean;
  /** Emitters that did not confirm, with why. */
  failed: { emitter: string; reason: string }[];
  /** Set when a queue is full (whenFull: block): try again after this many seconds. */
  retryAfterSec?: number;
}

/**
 * What sources hand events to. The promise resolves when the delivery policy
 * holds (ack: buffered — durably queued; ack: delivered — confirmed by sinks),
 * so a source checkpoints only after `ok`.
 *
 * A published event must not be changed afterwards, by its source or anyone:
 * its JSON is made once (eventJson) and journalled, and the same object is
 * handed to every emitter that reads it while the journal holds it in memory
 * (docs/journal.md). A change would reach some destinations and not others.
 */
export interface Publisher {
  /** `journalled`, when given, is called once the events are written to (or refused by) the journal, before the answer. */
  publish(events: AuditEvent[], signal?: AbortSignal, journalled?: () => void): Promise<PublishResult>;
}

export interface Source {
  readonly name: string;
  start(publisher: Publisher): Promise<void>;
  /** Stop reading, finish or abandon in-flight publishes, persist checkpoints. */
  stop(): Promise<void>;
  /** For GET /v1/sources: free-form state (shards held, lag, last error). */
  status(): Record<string, unknown>;
}

export interface SourceContext {
  /** Where the source stands in the config, `sources[1]`: a ConfigError found at creation starts with it. */
  configPath: string;
  dataDir: string;
  logger: Logger;
  /** For metrics of this source type only; what every source counts goes to `component`. */
  metrics: Registry;
  /** This source's component metrics: events and bytes received, events sent (acknowledged), errors by type and stage. */
  component: ComponentMetrics;
  /** `audit.eventTime`: held to by every record a source reads, as by HTTP ingest. */
  eventTime: EventTimeBounds;
  /** `server.limits.maxDepth`: nesting any record may have, on every source, as on HTTP ingest. */
  maxDepth: number;
}

export interface SourceDefinition<C = unknown> {
  type: string;
  /** Validates the source's keys except `type` and `name`, strictly. */
  schema: ZodType<C>;
  create(name: string, config: C, ctx: SourceContext): Source;
}

/**
 * What the source registry holds for one `type`: the schema `config check`
 * needs, and the implementation behind `load`, imported when a source of this
 * type is created, so its SDK costs memory only where the config uses it.
 */
export interface SourceType<C = unknown> {
  type: string;
  schema: ZodType<C>;
  load(): Promise<SourceDefinition<C>>;
}
