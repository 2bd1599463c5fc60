import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The Kinesis source's metrics. Several kinesis sources share one registry,
 * so each metric is created once and found again by name.
 */
export interface KinesisMetrics {
  millisBehindLatest: Gauge<'source' | 'shard'>;
  recordsRead: Counter<'source'>;
  eventsRead: Counter<'source'>;
  unparsedRecords: Counter<'source'>;
  controlMessages: Counter<'source'>;
  throttled: Counter<'source'>;
}

export function kinesisMetrics(registry: Registry): KinesisMetrics {
  const gauge = (name: string, help: string, labelNames: ('source' | 'shard')[]) =>
    (registry.getSingleMetric(name) as Gauge<'source' | 'shard'> | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter<'source'> | undefined) ??
    new Counter({ name, help, labelNames: ['source'], registers: [registry] });
  return {
    millisBehindLatest: gauge(
      'auditstream_source_millis_behind_latest',
      'How far a shard reader is behind the tip of its shard (Kinesis MillisBehindLatest).',
      ['source', 'shard'],
    ),
    recordsRead: counter('auditstream_source_records_read_total', 'Kinesis records read (an aggregated KPL record counts once).'),
    eventsRead: counter('auditstream_source_events_read_total', 'Audit events produced from the records read.'),
    unparsedRecords: counter('auditstream_source_unparsed_records_total', 'Records (or lines, or log events) that could not be decoded or parsed.'),
    controlMessages: counter('auditstream_source_control_messages_total', 'CloudWatch Logs CONTROL_MESSAGE records and other records skipped on purpose.'),
    throttled: counter('auditstream_source_throttled_total', 'GetRecords calls answered with ProvisionedThroughputExceededException.'),
  };
}
