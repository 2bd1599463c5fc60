import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The value `auditstream_emitter_state` reports for each state. Its help text
 * is written from this table, so the two cannot disagree. Disabled emitters
 * are not running and have no series at all.
 */
export const EMITTER_STATE_CODES = { idle: 0, sending: 1, retrying: 2, failing: 3, stopped: 4 } as const;

export type EmitterState = keyof typeof EMITTER_STATE_CODES;

export interface EmitterGaugeSource {
  readonly name: string;
  readonly type: string;
  queueDepth(): number;
  queueBytes(): number;
  oldestAgeMs(): number;
  state(): EmitterState;
}

/**
 * Pipeline metrics, in Vector's component vocabulary (docs/specs/component.md):
 * every component counts events received, sent, discarded and errors.
 */
export class PipelineMetrics {
  readonly registry: Registry;
  readonly received: Counter<'component_kind' | 'component_id' | 'component_type'>;
  readonly sent: Counter<'component_kind' | 'component_id' | 'component_type'>;
  readonly discarded: Counter<'component_kind' | 'component_id' | 'component_type' | 'reason'>;
  readonly errors: Counter<'component_kind' | 'component_id' | 'component_type' | 'error_type'>;
  readonly retries: Counter<'component_id'>;
  readonly ingestAccepted: Counter<'source'>;
  readonly ingestRejected: Counter<'source' | 'reason'>;
  readonly publishFailed: Counter<'reason'>;
  private readonly emitters: EmitterGaugeSource[] = [];

  constructor(registry = new Registry()) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry, prefix: 'auditstream_' });
    const labels = ['component_kind', 'component_id', 'component_type'] as const;
    this.received = new Counter({ name: 'auditstream_component_received_events_total', help: 'Events a component took in (router: handed over by HTTP ingest or a source; emitters: durably queued).', labelNames: labels, registers: [registry] });
    this.sent = new Counter({ name: 'auditstream_component_sent_events_total', help: 'Events a sink confirmed delivered.', labelNames: labels, registers: [registry] });
    this.discarded = new Counter({ name: 'auditstream_component_discarded_events_total', help: 'Events given up on: dead_letter (moved to the dead-letter file), dropped_oldest (queue full, whenFull: dropOldest), queue_full (not queued for a non-required emitter).', labelNames: [...labels, 'reason'], registers: [registry] });
    this.errors = new Counter({ name: 'auditstream_component_errors_total', help: 'Failed sends and other errors.', labelNames: [...labels, 'error_type'], registers: [registry] });
    this.retries = new Counter({ name: 'auditstream_emitter_retries_total', help: 'Events resent after a retriable failure.', labelNames: ['component_id'], registers: [registry] });
    this.ingestAccepted = new Counter({ name: 'auditstream_events_accepted_total', help: 'Events accepted from producers.', labelNames: ['source'], registers: [registry] });
    this.ingestRejected = new Counter({ name: 'auditstream_events_rejected_total', help: 'Events refused at ingest, by reason.', labelNames: ['source', 'reason'], registers: [registry] });
    this.publishFailed = new Counter({ name: 'auditstream_publish_failed_total', help: 'Publishes whose delivery policy did not hold.', labelNames: ['reason'], registers: [registry] });
    const emitters = this.emitters;
    const gauge = (name: string, help: string, read: (e: EmitterGaugeSource) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['component_id', 'component_type'],
        registers: [registry],
        collect() {
          this.reset();
          for (const e of emitters) this.set({ component_id: e.name, component_type: e.type }, read(e));
        },
      });
    gauge('auditstream_emitter_queue_depth', 'Events waiting in the emitter queue.', (e) => e.queueDepth());
    gauge('auditstream_emitter_queue_bytes', 'Bytes waiting in the emitter queue.', (e) => e.queueBytes());
    gauge('auditstream_emitter_oldest_event_age_seconds', 'Age of the oldest queued event (delivery lag).', (e) => e.oldestAgeMs() / 1000);
    const codes = Object.entries(EMITTER_STATE_CODES).map(([state, code]) => `${code} ${state}`).join(', ');
    gauge('auditstream_emitter_state', `Emitter state: ${codes}. Disabled emitters have no series.`, (e) => EMITTER_STATE_CODES[e.state()]);
  }

  addEmitter(e: EmitterGaugeSource): void {
    this.emitters.push(e);
  }

  emitterLabels(e: { name: string; type: string }) {
    return { component_kind: 'emitter', component_id: e.name, component_type: e.type };
  }
}
