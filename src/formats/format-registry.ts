import { auditstreamFormat } from './auditstream/format.js';
import { blitzFormat } from './blitz/format.js';
import { cloudtrailFormat } from './cloudtrail/format.js';
import { UNPARSED_SOURCES } from './containers/unparsed.js';
import { foxpassFormat } from './foxpass/format.js';
import { genericFormat } from './generic/format.js';
import type { EventSource } from './producer-format.js';
import { temporalFormat } from './temporal/format.js';
import { vpcFlowFormat } from './vpc-flow/format.js';

/**
 * Every producer format, one line each, in the order `parse: auto` tries
 * them: auditstream's own events first (they already are canonical), then the
 * formats with the most specific field sets, generic (any object) last.
 */
export const PRODUCER_FORMATS = [
  auditstreamFormat,
  foxpassFormat,
  temporalFormat,
  cloudtrailFormat,
  blitzFormat,
  vpcFlowFormat,
  genericFormat,
] as const;

export type ParserName = (typeof PRODUCER_FORMATS)[number]['name'];

/** The formats `parse:` can name (add `'auto'`), for config schemas; the cast gives back the non-empty tuple `map` loses and `z.enum` needs. */
export const PARSER_NAMES = PRODUCER_FORMATS.map((f) => f.name) as unknown as readonly [ParserName, ...ParserName[]];

/** Every `source` an event can have: the producers', and those of records a collector keeps unparsed. */
export const EVENT_SOURCES: readonly EventSource[] = [...PRODUCER_FORMATS, ...UNPARSED_SOURCES];
