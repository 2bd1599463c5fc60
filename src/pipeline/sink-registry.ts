import { auditStoreSink } from '../sinks/audit-store.js';
import { httpSinkDefinition } from '../sinks/http/sink.js';
import { kafkaSinkType } from '../sinks/kafka/type.js';
import { kinesisSinkType } from '../sinks/kinesis/type.js';
import { logSink } from '../sinks/log/sink.js';
import { s3SinkType } from '../sinks/s3/type.js';
import { loadedSinkType, type SinkType } from '../sinks/sink.js';
import { syslogSinkDefinition } from '../sinks/syslog/sink.js';

/**
 * Every emitter `type` the config accepts. Sinks built on an SDK (AWS, kafkajs) are loaded when an emitter
 * of their type is created, so a process pays for an SDK only when its config uses it; the others are plain
 * Node and loaded here.
 */
const types: SinkType<any>[] = [
  loadedSinkType(logSink),
  kinesisSinkType,
  loadedSinkType(auditStoreSink),
  s3SinkType,
  kafkaSinkType,
  loadedSinkType(httpSinkDefinition),
  loadedSinkType(syslogSinkDefinition),
];

export const SINKS: ReadonlyMap<string, SinkType<any>> = new Map(types.map((t) => [t.type, t]));
