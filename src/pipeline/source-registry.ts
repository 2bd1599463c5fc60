import type { SourceDefinition } from '../sources/source.js';

/** Every `sources[].type` the config accepts. The HTTP source is the server itself and is not listed. */
const definitions: SourceDefinition<any>[] = [];

export const SOURCES: ReadonlyMap<string, SourceDefinition<any>> = new Map(definitions.map((d) => [d.type, d]));
