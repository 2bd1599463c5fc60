import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ComponentMetrics, type ComponentKind } from '../core/component-metrics.js';

/**
 * The value `auditstream_emitter_state` reports for each state. Its help text
 * is written from this table, so the two cannot disagree. Disabled emitters
 * are not running and have no series at all.
 */
export const EMITTER_STATE_CODES = { idle: 0, sending: 1, retrying: 2, failing: 3, stopped: 4, paused: 5 } as const;

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
 * The process's metrics registry: the component metrics every source, the
 * router and every emitter report (src/core/component-metrics.ts), the
 * emitters' buffers (their durable queues) and state, and Node's default
 * process metrics under their standard, unprefixed names
 * (`process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`), so
 * stock Node.js dashboards work unchanged.
 */
export class PipelineMetrics {
  readonly registry: Registry;
  readonly router: ComponentMetrics;
  readonly retries: Counter<'component_id'>;
  readonly publishFailed: Counter<'reason'>;
  private readonly emitters: EmitterGaugeSource[] = [];

  constructor(registry = new Registry()) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry });
    this.router = this.component('router', 'router', 'router');
    this.retries = new Counter({ name: 'auditstream_emitter_retries_total', help: 'Events resent after a retriable failure.', labelNames: ['component_id'], registers: [registry] });
    this.publishFailed = new Counter({ name: 'auditstream_publish_failed_total', help: 'Publishes whose delivery policy did not hold.', labelNames: ['reason'], registers: [registry] });
    const emitters = this.emitters;
    const labelNames = ['component_kind', 'component_id', 'component_type'] as const;
    const gauge = (name: string, help: string, read: (e: EmitterGaugeSource) => number) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const e of emitters) this.set({ component_kind: 'sink', component_id: e.name, component_type: e.type }, read(e));
        },
      });
    gauge('auditstream_buffer_events', 'Events waiting in the emitter queue (its buffer).', (e) => e.queueDepth());
    gauge('auditstream_buffer_byte_size', 'Bytes waiting in the emitter queue (its buffer).', (e) => e.queueBytes());
    gauge('auditstream_emitter_oldest_event_age_seconds', 'Age of the oldest queued event (delivery lag).', (e) => e.oldestAgeMs() / 1000);
    const codes = Object.entries(EMITTER_STATE_CODES).map(([state, code]) => `${code} ${state}`).join(', ');
    gauge('auditstream_emitter_state', `Emitter state: ${codes}. Disabled emitters have no series.`, (e) => EMITTER_STATE_CODES[e.state()]);
  }

  /** A component's counters, its series present (at 0) from now on. */
  component(kind: ComponentKind, id: string, type: string): ComponentMetrics {
    return new ComponentMetrics(this.registry, kind, id, type);
  }

  addEmitter(e: EmitterGaugeSource): void {
    this.emitters.push(e);
  }

  /** A destination removed at run time: its buffer and state series go with it. */
  removeEmitter(name: string): void {
    const i = this.emitters.findIndex((e) => e.name === name);
    if (i !== -1) this.emitters.splice(i, 1);
  }
}
