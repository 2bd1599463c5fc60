import { logSink } from '../sinks/log/sink.js';
import { kinesisSinkDefinition } from '../sinks/kinesis/sink.js';
import type { SinkDefinition } from '../sinks/sink.js';
import { auditStoreSink } from '../sinks/audit-store.js';
import { s3SinkDefinition } from '../sinks/s3/sink.js';
import { kafkaSinkDefinition } from '../sinks/kafka/sink.js';
import { httpSinkDefinition } from '../sinks/http/sink.js';
import { syslogSinkDefinition } from '../sinks/syslog/sink.js';

/** Every emitter `type` the config accepts, mapped to the sink that implements it. */
const definitions: SinkDefinition<any>[] = [logSink, kinesisSinkDefinition, auditStoreSink, s3SinkDefinition, kafkaSinkDefinition, httpSinkDefinition, syslogSinkDefinition];

export const SINKS: ReadonlyMap<string, SinkDefinition<any>> = new Map(definitions.map((d) => [d.type, d]));
