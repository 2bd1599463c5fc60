/** Content types whose body is one JSON record per line; any other accepted type is one JSON document. */
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];

/** The content type whose body is one text record per line (VPC flow log lines, Blitz logback lines), read as `?format=` says. */
export const TEXT_TYPE = 'text/plain';

/** The charsets a text/plain body may name, lower-cased: UTF-8 under its two spellings, since every record is kept as UTF-8 text. */
export const TEXT_CHARSETS = ['utf-8', 'utf8'];

/** The JSON Content-Types: every route that takes a body reads these. */
export const JSON_TYPES = ['application/json', ...NDJSON_TYPES];

/** Every Content-Type the http source reads; the server refuses others (415) before reading the body. */
export const ACCEPTED_TYPES = [...JSON_TYPES, TEXT_TYPE];

/** How a body is split into records. */
export type BodyKind = 'json' | 'ndjson' | 'text';

/** The media type of a Content-Type header, lower-cased, and its charset parameter when it names one. */
export function parseContentType(header: string | undefined): { mediaType: string; charset: string | undefined } {
  const [type, ...params] = (header ?? '').split(';');
  let charset: string | undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    charset = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
  }
  return { mediaType: type!.trim().toLowerCase(), charset };
}

export function bodyKindOf(mediaType: string): BodyKind {
  if (mediaType === TEXT_TYPE) return 'text';
  return NDJSON_TYPES.includes(mediaType) ? 'ndjson' : 'json';
}
