import type { ConfigIssue } from '../../config/validate.js';
import type { SinkType } from '../sink.js';
import { kafkaSinkSchema, securityProtocolOf, type KafkaSinkConfig } from './config.js';
import { tlsProblems } from './tls.js';

/** The TLS files an SSL connection needs must be readable; checked by `config check` as by `serve`. */
export function kafkaSinkProblems(config: KafkaSinkConfig): ConfigIssue[] {
  if (!config.ssl || !securityProtocolOf(config).endsWith('SSL')) return [];
  return tlsProblems(config.ssl).map((p) => ({ path: ['ssl', ...p.key.split('.')], message: p.message }));
}

/** The `kafka` emitter type; kafkajs is loaded with sink.ts when such an emitter is created. */
export const kafkaSinkType: SinkType<KafkaSinkConfig> = {
  type: 'kafka',
  schema: kafkaSinkSchema,
  validate: kafkaSinkProblems,
  orderedBy: (c) => (c.key === undefined ? undefined : { key: 'key', value: c.key }),
  load: async () => (await import('./sink.js')).kafkaSinkDefinition,
};
