import type { SourceType } from '../source.js';
import { kinesisSourceSchema, type KinesisSourceConfig } from './config.js';

/** The `kinesis` source type; the AWS SDK is loaded with source.ts when such a source is created. */
export const kinesisSourceType: SourceType<KinesisSourceConfig> = {
  type: 'kinesis',
  schema: kinesisSourceSchema,
  load: async () => (await import('./source.js')).kinesisSourceDefinition,
};
