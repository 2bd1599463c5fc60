import { cloudWatchExportSourceDefinition } from '../sources/cloudwatch-export/source.js';
import { firehoseSourceDefinition } from '../sources/firehose/source.js';
import { kinesisSourceDefinition } from '../sources/kinesis/source.js';
import type { SourceDefinition } from '../sources/source.js';
import { s3SourceDefinition } from '../sources/s3/source.js';

/**
 * Every `sources[].type` the config accepts. The `http` source (src/sources/http) is not listed: it is
 * configured by `server.*` and run by the server, which hands it each request. The server also routes
 * each `firehose` source's requests to it (src/server/firehose-route.ts).
 */
const definitions: SourceDefinition<any>[] = [cloudWatchExportSourceDefinition, firehoseSourceDefinition, kinesisSourceDefinition, s3SourceDefinition];

export const SOURCES: ReadonlyMap<string, SourceDefinition<any>> = new Map(definitions.map((d) => [d.type, d]));
