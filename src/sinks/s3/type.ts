import type { SinkType } from '../sink.js';
import { s3SinkSchema, type S3SinkConfig } from './config.js';

/** The `s3` emitter type; the AWS SDK is loaded with sink.ts when such an emitter is created. */
export const s3SinkType: SinkType<S3SinkConfig> = {
  type: 's3',
  schema: s3SinkSchema,
  load: async () => (await import('./sink.js')).s3SinkDefinition,
};
