import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What only a Kinesis source measures; events, bytes and errors go to the
 * component metrics every source reports. Several kinesis sources share one
 * registry, so each metric is created once and found again by name.
 */
export interface KinesisMetrics {
  millisBehindLatest: Gauge<'component_id' | 'shard'>;
  recordsRead: Counter<'component_id'>;
  controlMessages: Counter<'component_id'>;
}

export function kinesisMetrics(registry: Registry): KinesisMetrics {
  const gauge = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Gauge<'component_id' | 'shard'> | undefined) ??
    new Gauge({ name, help, labelNames: ['component_id', 'shard'], registers: [registry] });
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter<'component_id'> | undefined) ??
    new Counter({ name, help, labelNames: ['component_id'], registers: [registry] });
  return {
    millisBehindLatest: gauge('auditstream_source_millis_behind_latest', 'How far a shard reader is behind the tip of its shard (Kinesis MillisBehindLatest).'),
    recordsRead: counter('auditstream_source_records_read_total', 'Kinesis records read (an aggregated KPL record counts once).'),
    controlMessages: counter('auditstream_source_control_messages_total', 'CloudWatch Logs CONTROL_MESSAGE records and other records skipped on purpose.'),
  };
}
