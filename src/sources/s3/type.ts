import type { SourceType } from '../source.js';
import { s3SourceSchema, type S3SourceConfig } from './config.js';

/** The `s3` source type; the AWS SDK is loaded with source.ts when such a source is created. */
export const s3SourceType: SourceType<S3SourceConfig> = {
  type: 's3',
  schema: s3SourceSchema,
  load: async () => (await import('./source.js')).s3SourceDefinition,
};
