import { cloudWatchExportSourceType } from '../sources/cloudwatch-export/type.js';
import { firehoseSourceDefinition } from '../sources/firehose/source.js';
import { kinesisSourceType } from '../sources/kinesis/type.js';
import type { SourceType } from '../sources/source.js';
import { s3SourceType } from '../sources/s3/type.js';

/**
 * Every `sources[].type` the config accepts. The `http` source (src/sources/http) is not listed: it is
 * configured by `server.*` and run by the server, which hands it each request. The server also routes
 * each `firehose` source's requests to it (src/server/firehose-route.ts). The AWS sources are loaded when a
 * source of their type is created, so a process pays for the AWS SDK only when its config uses it.
 */
const types: SourceType<any>[] = [
  cloudWatchExportSourceType,
  { type: firehoseSourceDefinition.type, schema: firehoseSourceDefinition.schema, load: async () => firehoseSourceDefinition },
  kinesisSourceType,
  s3SourceType,
];

export const SOURCES: ReadonlyMap<string, SourceType<any>> = new Map(types.map((t) => [t.type, t]));
