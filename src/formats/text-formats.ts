import type { ParseMode } from './parse.js';

/**
 * The parsers a text/plain ingest body may name (`?format=`, an API key's
 * `textFormat`): those whose records are lines of text rather than JSON.
 * `auto` tells the two apart line by line.
 */
export const TEXT_FORMATS = ['auto', 'vpc-flow', 'blitz'] as const satisfies readonly ParseMode[];

export type TextFormat = (typeof TEXT_FORMATS)[number];

export function isTextFormat(name: string): name is TextFormat {
  return (TEXT_FORMATS as readonly string[]).includes(name);
}
