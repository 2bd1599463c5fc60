import type { SourceType } from '../source.js';
import { cloudWatchExportSourceSchema, type CloudWatchExportSourceConfig } from './config.js';

/** The `cloudwatch-export` source type; the AWS SDK is loaded with source.ts when such a source is created. */
export const cloudWatchExportSourceType: SourceType<CloudWatchExportSourceConfig> = {
  type: 'cloudwatch-export',
  schema: cloudWatchExportSourceSchema,
  load: async () => (await import('./source.js')).cloudWatchExportSourceDefinition,
};
