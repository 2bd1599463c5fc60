import { InvalidEventError } from '../core/errors.js';
import { OUTCOMES, type AuditEvent, type Outcome } from '../core/event.js';
import { parseTimeMs } from '../core/time.js';
import type { SearchOptions, SearchPage, SearchQuery } from './audit-store.js';
import { decodeCursor, encodeCursor, type CursorPosition } from './cursor.js';
import { QueryError } from './query-error.js';

export const DEFAULT_SEARCH_LIMIT = 100;
export const MAX_SEARCH_LIMIT = 1000;
export const DEFAULT_MAX_PAGE_BYTES = 8 * 1024 * 1024;

/** Search parameters that are an exact match on one column. */
const EQUALITY_COLUMNS = {
  type: 'type',
  actor: 'actor',
  outcome: 'outcome',
  source: 'source',
  sessionId: 'session_id',
  clientIp: 'client_ip',
  tenant: 'tenant',
} as const satisfies Partial<Record<keyof SearchQuery, string>>;

export type FilterColumn = (typeof EQUALITY_COLUMNS)[keyof typeof EQUALITY_COLUMNS];

/** A validated search, independent of SQL dialect. */
export interface SearchPlan {
  equals: { column: FilterColumn; value: string }[];
  /** Inclusive. */
  fromMs?: number;
  /** Exclusive. */
  toMs?: number;
  /** Substring of message, matched case-insensitively. */
  text?: string;
  limit: number;
  /** Bytes the page may take as JSON; see SearchOptions.maxBytes. */
  maxBytes: number;
  after?: CursorPosition;
}

export const MAX_TEXT_QUERY_CHARS = 256;

const KNOWN_PARAMETERS: ReadonlySet<string> = new Set([
  ...Object.keys(EQUALITY_COLUMNS),
  'from',
  'to',
  'q',
  'limit',
  'cursor',
]);

/**
 * Validates a search. Unknown parameters are errors: a misspelt filter
 * (`actr=bob`) must not silently return every event.
 */
export function planSearch(query: SearchQuery, options: SearchOptions = {}): SearchPlan {
  for (const key of Object.keys(query)) {
    if (!KNOWN_PARAMETERS.has(key)) {
      throw new QueryError(key, `unknown search parameter (known: ${[...KNOWN_PARAMETERS].join(', ')})`);
    }
  }
  const plan: SearchPlan = { equals: [], limit: parseLimit(query.limit), maxBytes: options.maxBytes ?? DEFAULT_MAX_PAGE_BYTES };
  for (const [parameter, column] of Object.entries(EQUALITY_COLUMNS) as [keyof typeof EQUALITY_COLUMNS, FilterColumn][]) {
    const value = text(query, parameter);
    if (value === undefined) continue;
    if (parameter === 'outcome' && !OUTCOMES.includes(value as Outcome)) {
      throw new QueryError('outcome', `must be one of ${OUTCOMES.join(', ')}, got ${JSON.stringify(value)}`);
    }
    plan.equals.push({ column, value });
  }
  const from = text(query, 'from');
  if (from !== undefined) plan.fromMs = parseBound(from, 'from');
  const to = text(query, 'to');
  if (to !== undefined) plan.toMs = parseBound(to, 'to');
  const q = text(query, 'q');
  if (q !== undefined) {
    // Each search scans messages with LIKE: a bounded pattern keeps one request's cost bounded.
    if (q.length > MAX_TEXT_QUERY_CHARS) throw new QueryError('q', `at most ${MAX_TEXT_QUERY_CHARS} characters, got ${q.length}`);
    plan.text = q;
  }
  const cursor = text(query, 'cursor');
  if (cursor !== undefined) plan.after = decodeCursor(cursor);
  return plan;
}

function text(query: SearchQuery, parameter: keyof SearchQuery): string | undefined {
  const value: unknown = query[parameter];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new QueryError(parameter, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** By the rules event times are read with (epoch seconds or ms, ISO 8601 with an offset), without the ingest window. */
function parseBound(value: string, parameter: 'from' | 'to'): number {
  try {
    return parseTimeMs(value, parameter);
  } catch (err) {
    // The message starts with "<parameter>: ", which QueryError puts back.
    if (err instanceof InvalidEventError) throw new QueryError(parameter, err.message.slice(parameter.length + 2));
    throw err;
  }
}

function parseLimit(value: unknown): number {
  if (value === undefined || value === null || value === '') return DEFAULT_SEARCH_LIMIT;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_SEARCH_LIMIT) {
    throw new QueryError('limit', `must be an integer from 1 to ${MAX_SEARCH_LIMIT}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Escapes LIKE wildcards so `q` is matched literally (with ESCAPE '\'). */
export function likePattern(substring: string): string {
  return `%${substring.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** What `{"events":[],"nextCursor":""}` adds around the events and the cursor's own characters. */
const PAGE_ENVELOPE_BYTES = Buffer.byteLength('{"events":[],"nextCursor":""}');

/**
 * Fills a page from rows in search order (newest first) until `plan.limit` or
 * `plan.maxBytes`, and sets the cursor after the last event taken, so the next
 * page starts exactly where this one stopped. `read` runs only for rows that
 * may be taken; `moreBeyond` says that matching rows exist after `rows`.
 * Each event is measured as the JSON the API sends, so the answer's size is
 * known, not estimated; room for the cursor is kept before an event is taken.
 */
export function fillPage<R>(
  rows: Iterable<R>,
  plan: SearchPlan,
  read: (row: R) => { event: AuditEvent; position: CursorPosition },
  moreBeyond = false,
): SearchPage {
  const events: AuditEvent[] = [];
  let bytes = PAGE_ENVELOPE_BYTES;
  let last: CursorPosition | undefined;
  let more = moreBeyond;
  for (const row of rows) {
    if (events.length === plan.limit) {
      more = true;
      break;
    }
    const { event, position } = read(row);
    const size = Buffer.byteLength(JSON.stringify(event)) + (events.length > 0 ? 1 : 0);
    // The first event is always taken: a page that could hold none would never move the cursor.
    if (events.length > 0 && bytes + size + encodeCursor(position).length > plan.maxBytes) {
      more = true;
      break;
    }
    events.push(event);
    bytes += size;
    last = position;
  }
  const page: SearchPage = { events };
  if (more && last) page.nextCursor = encodeCursor(last);
  return page;
}
