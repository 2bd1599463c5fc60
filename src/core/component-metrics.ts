import { Counter, type Registry } from 'prom-client';
import type { AuditEvent } from './event.js';

/**
 * The metrics every component reports, named after Vector's component
 * specification (component_received_events_total, …) under our own
 * `auditstream_` namespace, as Vector keeps its own under `vector_`. Sources,
 * the router and sinks (emitters) all count here, so one dashboard query
 * covers every component: `component_kind` says which part of the pipeline,
 * `component_type` which implementation, `component_id` the configured name.
 */
export type ComponentKind = 'source' | 'router' | 'sink';

/** Where an error happened: reading input, turning it into events, or handing events on. */
export type ErrorStage = 'receiving' | 'processing' | 'sending';

type Labels = 'component_kind' | 'component_id' | 'component_type';
const LABELS: Labels[] = ['component_kind', 'component_id', 'component_type'];

class Counters {
  readonly receivedEvents: Counter<Labels>;
  readonly receivedEventBytes: Counter<Labels>;
  readonly receivedBytes: Counter<Labels | 'protocol'>;
  readonly sentEvents: Counter<Labels>;
  readonly sentEventBytes: Counter<Labels>;
  readonly errors: Counter<Labels | 'error_type' | 'stage'>;
  readonly discarded: Counter<Labels | 'reason'>;

  constructor(registry: Registry) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name: `auditstream_${name}`, help, labelNames, registers: [registry] });
    this.receivedEvents = counter(
      'component_received_events_total',
      'Events a component took in: a source, events read and parsed from its input; the router, events handed over by sources; a sink, events durably queued for it.',
      LABELS,
    );
    this.receivedEventBytes = counter('component_received_event_bytes_total', 'JSON size of the events counted in component_received_events_total.', LABELS);
    this.receivedBytes = counter(
      'component_received_bytes_total',
      'Raw bytes a source read before decoding (HTTP bodies, Kinesis record data, S3 objects), by protocol.',
      [...LABELS, 'protocol'],
    );
    this.sentEvents = counter(
      'component_sent_events_total',
      'Events a component handed on: a source, events the delivery policy acknowledged; a sink, events its destination confirmed.',
      LABELS,
    );
    this.sentEventBytes = counter('component_sent_event_bytes_total', 'JSON size of the events counted in component_sent_events_total.', LABELS);
    this.errors = counter('component_errors_total', 'Errors by error_type and stage (receiving, processing, sending).', [...LABELS, 'error_type', 'stage']);
    this.discarded = counter(
      'component_discarded_events_total',
      'Events given up on, by reason: dead_letter (moved to the dead-letter file), dropped_oldest (queue full, whenFull: dropOldest), queue_full (not queued for a best-effort emitter), no_emitter (no emitter accepts the event), destination_deleted (a tenant destination deleted with backlog=discard).',
      [...LABELS, 'reason'],
    );
  }
}

// Components are created by different layers (pipeline, sources, server) on one registry; each metric is registered once.
const byRegistry = new WeakMap<Registry, Counters>();

/** One component's view of the shared counters, its labels bound. */
export class ComponentMetrics {
  readonly labels: Record<Labels, string>;
  private readonly c: Counters;

  constructor(registry: Registry, kind: ComponentKind, id: string, type: string) {
    let c = byRegistry.get(registry);
    if (!c) byRegistry.set(registry, (c = new Counters(registry)));
    this.c = c;
    this.labels = { component_kind: kind, component_id: id, component_type: type };
    // Every component has its series from the start: a rate() over a component that has seen nothing yet is 0, not absent.
    for (const m of [c.receivedEvents, c.receivedEventBytes, c.sentEvents, c.sentEventBytes]) m.inc(this.labels, 0);
  }

  received(count: number, eventBytes: number): void {
    this.c.receivedEvents.inc(this.labels, count);
    this.c.receivedEventBytes.inc(this.labels, eventBytes);
  }

  receivedBytes(bytes: number, protocol: string): void {
    this.c.receivedBytes.inc({ ...this.labels, protocol }, bytes);
  }

  sent(count: number, eventBytes: number): void {
    this.c.sentEvents.inc(this.labels, count);
    this.c.sentEventBytes.inc(this.labels, eventBytes);
  }

  error(errorType: string, stage: ErrorStage, count = 1): void {
    this.c.errors.inc({ ...this.labels, error_type: errorType, stage }, count);
  }

  discarded(reason: string, count: number): void {
    this.c.discarded.inc({ ...this.labels, reason }, count);
  }

  /** This component's component_received_events_total. */
  async receivedTotal(): Promise<number> {
    const { values } = await this.c.receivedEvents.get();
    return values.find((v) => LABELS.every((l) => v.labels[l] === this.labels[l]))?.value ?? 0;
  }
}

/**
 * Where an event keeps its JSON once made: a symbol-keyed, non-enumerable
 * property, invisible to JSON.stringify, Object.keys, spreads and deep
 * equality. A property costs a map transition where a WeakMap entry costs
 * a hash lookup on every read and ephemeron work in every garbage collection
 * (both showed in the ingest profile). It is right only because nothing
 * changes an event once it is published (Publisher).
 */
const JSON_BYTES = Symbol('auditstream.eventJson');
type WithJson = AuditEvent & { [JSON_BYTES]?: Buffer };

/**
 * An event's JSON, made once: a source measures it for its metrics, the
 * router journals the same bytes, and json-codec sinks send them.
 */
export function eventJson(e: AuditEvent): Buffer {
  let b = (e as WithJson)[JSON_BYTES];
  if (b === undefined) {
    b = Buffer.from(JSON.stringify(e));
    rememberEventJson(e, b);
  }
  return b;
}

/**
 * `e` was parsed from `json`, which JSON.stringify made from an equal event:
 * its JSON is those bytes, and no sink needs to serialise it again.
 */
export function rememberEventJson(e: AuditEvent, json: Buffer): void {
  Object.defineProperty(e, JSON_BYTES, { value: json, configurable: true });
}

export function eventsJsonBytes(events: readonly AuditEvent[]): number {
  let n = 0;
  for (const e of events) n += eventJson(e).length;
  return n;
}
