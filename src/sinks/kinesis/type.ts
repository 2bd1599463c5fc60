import type { SinkType } from '../sink.js';
import { kinesisSinkSchema, type KinesisSinkConfig } from './config.js';

/** The `kinesis` emitter type; the AWS SDK is loaded with sink.ts when such an emitter is created. */
export const kinesisSinkType: SinkType<KinesisSinkConfig> = {
  type: 'kinesis',
  schema: kinesisSinkSchema,
  orderedBy: (c) => (c.partitionKey === 'random' ? undefined : { key: 'partitionKey', value: c.partitionKey }),
  load: async () => (await import('./sink.js')).kinesisSinkDefinition,
};
