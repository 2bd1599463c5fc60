import { kinesisSourceDefinition } from '../sources/kinesis/source.js';
import type { SourceDefinition } from '../sources/source.js';
import { s3SourceDefinition } from '../sources/s3/source.js';

/** Every `sources[].type` the config accepts. The HTTP source is the server itself and is not listed. */
const definitions: SourceDefinition<any>[] = [kinesisSourceDefinition, s3SourceDefinition];

export const SOURCES: ReadonlyMap<string, SourceDefinition<any>> = new Map(definitions.map((d) => [d.type, d]));
