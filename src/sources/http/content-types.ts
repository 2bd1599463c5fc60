/** Content types whose body is one JSON record per line; any other accepted type is one JSON document. */
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];

/** Every Content-Type the http source reads; the server refuses others (415) before reading the body. */
export const ACCEPTED_TYPES = ['application/json', ...NDJSON_TYPES];
