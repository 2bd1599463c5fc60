import { cloudWatchExportSourceDefinition } from '../sources/cloudwatch-export/source.js';
import { kinesisSourceDefinition } from '../sources/kinesis/source.js';
import type { SourceDefinition } from '../sources/source.js';
import { s3SourceDefinition } from '../sources/s3/source.js';

/**
 * Every `sources[].type` the config accepts. The `http` source (src/sources/http) is not listed: it is
 * configured by `server.*` and run by the server, which hands it each request.
 */
const definitions: SourceDefinition<any>[] = [kinesisSourceDefinition, s3SourceDefinition, cloudWatchExportSourceDefinition];

export const SOURCES: ReadonlyMap<string, SourceDefinition<any>> = new Map(definitions.map((d) => [d.type, d]));
