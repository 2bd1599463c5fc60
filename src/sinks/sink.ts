import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ZodType } from 'zod';
import type { ConfigIssue } from '../config/validate.js';
import type { AuditEvent } from '../core/event.js';

/**
 * The per-event result of one `send`. Kinesis PutRecords, Kafka and bulk stores
 * succeed or fail per record, so a sink reports each one and the emitter
 * resends only what failed (never the whole batch: that duplicates).
 */
export type DeliveryOutcome =
  | { status: 'delivered' }
  /** Transient for this event (throttled, internal failure): resend it, after backoff. */
  | { status: 'retry'; reason: string }
  /** This event can never be delivered as it is (over the size limit, rejected by schema): dead-letter it. */
  | { status: 'rejected'; reason: string };

/** How the emitter should cut batches for this sink. */
export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  /**
   * How long the oldest queued event may wait for a batch to fill. 0 sends at
   * once; the S3 sink uses rollEverySec so an object is written about once a minute.
   */
  lingerMs: number;
  /**
   * Batches sent at once (1 when unset): while one waits for the
   * destination's answer, the next is already on its way. Sinks that keep
   * order per key leave it at 1.
   */
  maxInFlight?: number;
}

export interface CheckStep {
  /** Plain words: "assume role arn:aws:iam::…", "describe stream audit". */
  step: string;
  ok: boolean;
  /** On failure, what is missing or wrong (the permission, the value). */
  detail: string;
}

export interface Sink {
  readonly batch: BatchLimits;
  /**
   * Deliver a batch. Resolves with one outcome per event, same order.
   * Throws RetriableError when the whole call failed transiently, FatalError
   * when the destination is unusable (credentials, missing stream): the events
   * stay queued either way.
   */
  send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]>;
  /**
   * When present, the emitter calls this instead of `send`, with each event's
   * JSON exactly as the journal stored it, and never parses the events: for
   * a sink that would only serialise them again or hand them to another
   * thread. The Buffers are shared with other emitters and must not be
   * changed. Same outcomes and errors as `send`; bytes that are not an event
   * are the sink's to reject.
   */
  sendStored?(batch: readonly Buffer[], signal: AbortSignal): Promise<DeliveryOutcome[]>;
  /** "Test & Add", as vendors check a log-export destination before saving it: prove credentials and destination work without sending events. */
  check(signal: AbortSignal): Promise<CheckStep[]>;
  /** What only this kind of sink counts, shown under `sink` in the emitter's status (GET /v1/emitters). */
  status?(): Record<string, unknown>;
  /** Events with the same key are delivered in queue order. Undefined: no ordering constraint. */
  partitionKeyOf?(event: AuditEvent): string;
  close(): Promise<void>;
}

export interface SinkContext {
  emitterName: string;
  /** Where the emitter stands in the config, `audit.emitters[2]`: a ConfigError found at creation starts with it. */
  configPath: string;
  /** Root data dir; a sink keeps its own files under `${dataDir}/emitters/${emitterName}`. */
  dataDir: string;
  logger: Logger;
  metrics: Registry;
  /** Set for a tenant's destination: every connection the sink opens is checked against it, at connect time. */
  connectGuard?: ConnectGuard;
}

/**
 * Where a sink may connect, judged when it connects rather than when its
 * config was checked: a name resolving elsewhere since (DNS rebinding), or a
 * host a server names in its answer (a Kafka broker's metadata), is judged
 * as well.
 */
export interface ConnectGuard {
  /** A dns.lookup that fails for a name resolving to an address the sink may not reach. */
  lookup: LookupFunction;
  /** Why the sink may not connect to this IP literal, or undefined when it may. */
  refusal(host: string): Error | undefined;
}

/**
 * What a sink module exports. `schema` validates the sink's own keys (the
 * common emitter keys — type, name, enabled, include, exclude, queue, retry,
 * batch — are removed before it runs), strictly: unknown keys are errors.
 */
export interface SinkDefinition<C = unknown> {
  type: string;
  schema: ZodType<C>;
  /**
   * What the schema alone cannot see and `create` would otherwise find at
   * start-up: files that must exist and be readable, paths derived from the
   * data dir. Runs for `config check` as well as `serve`, so it reads and
   * never writes (no directories, no files, no connections). Issue paths are
   * relative to the emitter.
   */
  validate?(config: C, ctx: SinkValidationContext): ConfigIssue[];
  create(config: C, ctx: SinkContext): Sink;
}

/**
 * What the sink registry holds for one `type`: what `config check` needs (the
 * schema and the validate step), and the implementation behind `load`,
 * imported when an emitter of this type is created. An SDK (AWS, kafkajs)
 * then costs memory only in a process whose config uses it.
 */
export interface SinkType<C = unknown> {
  type: string;
  schema: ZodType<C>;
  validate?: SinkDefinition<C>['validate'];
  /**
   * Why events of one key must reach the destination in queue order with this
   * config (the key that asks for it, and its value), or undefined when order
   * does not matter: such an emitter keeps one batch in flight.
   */
  orderedBy?(config: C): { key: string; value: string } | undefined;
  load(): Promise<SinkDefinition<C>>;
}

/** The registry entry of a sink whose module is light: loading it up front costs nothing worth deferring. */
export function loadedSinkType<C>(definition: SinkDefinition<C>): SinkType<C> {
  return { type: definition.type, schema: definition.schema, ...(definition.validate && { validate: definition.validate }), load: async () => definition };
}

export interface SinkValidationContext {
  emitterName: string;
  /** Absolute. */
  dataDir: string;
}
