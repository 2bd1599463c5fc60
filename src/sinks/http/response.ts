import { FatalError, RetriableError } from '../../core/errors.js';
import { retryAfterMs } from '../../core/retry-after.js';
import type { DeliveryOutcome } from '../sink.js';
import { isTlsTrustError } from '../../core/tls-trust.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** How much of an answer's body goes into a dead-letter reason or an error message. */
const REASON_BODY_CHARS = 500;

export function truncatedBody(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > REASON_BODY_CHARS ? `${flat.slice(0, REASON_BODY_CHARS)}…` : flat;
}

/**
 * What a non-2xx answer means for the request's events:
 * - 408, 429 and 5xx: the destination is busy or failing; retry after its Retry-After.
 * - 3xx, 401, 403, 404, 405, 407: a wrong token, URL or proxy; every event would fail the
 *   same way, so the events stay queued (emitter state `failing`) until someone fixes it.
 * - any other 4xx (400, 413, 422 …): this request's content is refused: `reject`.
 */
export type AnswerVerdict = { kind: 'retry'; error: RetriableError } | { kind: 'fatal'; error: FatalError } | { kind: 'reject'; reason: string };

export function verdictOf(answer: HttpAnswer, what: string): AnswerVerdict {
  const { status } = answer;
  const text = `${what} answered HTTP ${status}${answer.body ? `: ${truncatedBody(answer.body)}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    const after = retryAfterMs(answer.headers['retry-after']);
    return { kind: 'retry', error: new RetriableError(text, { code: `HTTP_${status}`, ...(after !== undefined ? { retryAfterMs: after } : {}) }) };
  }
  if (status >= 300 && status < 400) {
    // Following a redirect would resend audit data (and its credentials) to a place the config does not name.
    const location = Array.isArray(answer.headers.location) ? answer.headers.location[0] : answer.headers.location;
    return { kind: 'fatal', error: new FatalError(`${what} answered HTTP ${status}, a redirect${location ? ` to ${location}` : ''}: redirects are not followed; set url to the endpoint itself`, { code: `HTTP_${status}` }) };
  }
  if (NOT_THE_CONTENT.has(status)) return { kind: 'fatal', error: new FatalError(text, { code: `HTTP_${status}` }) };
  return { kind: 'reject', reason: text };
}

/** Refusals of the token, URL or proxy (for a `_bulk` item: of the index), never of one event's content. */
const NOT_THE_CONTENT: ReadonlySet<number> = new Set([401, 403, 404, 405, 407]);

/**
 * Splunk HEC's `code`s of a 400 that refuse the token's setup, not the events
 * (https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector):
 * 7 Incorrect index (the token may not write `splunk.index`, which every event
 * carries), 10 Data channel is missing and 11 Invalid data channel (the token
 * has indexer acknowledgement on). Every event would be refused alike.
 */
const SPLUNK_SETUP_CODES: ReadonlySet<unknown> = new Set([7, 10, 11]);

/** A Splunk HEC 400 that no event can pass until the token is changed: fatal, as a 403 is, instead of a refusal of the content. */
export function splunkSetupVerdict(verdict: AnswerVerdict, answer: HttpAnswer): AnswerVerdict {
  if (verdict.kind !== 'reject' || answer.status !== 400) return verdict;
  let code: unknown;
  try {
    code = (JSON.parse(answer.body) as { code?: unknown }).code;
  } catch {
    return verdict;
  }
  return SPLUNK_SETUP_CODES.has(code) ? { kind: 'fatal', error: new FatalError(verdict.reason, { code: `HTTP_400_SPLUNK_${String(code)}` }) } : verdict;
}

export function connectionError(err: unknown, what: string): RetriableError | FatalError {
  const code = (err as NodeJS.ErrnoException).code;
  const message = `${what}: ${code ? `${code} ` : ''}${(err as Error).message ?? String(err)}`;
  if (isTlsTrustError(code)) return new FatalError(`${message} (set tls.caFile to the CA that signed the server's certificate)`, { cause: err, code: `TLS_${code}` });
  return new RetriableError(message, { cause: err, code: code ? `HTTP_${code}` : 'HTTP_UNAVAILABLE' });
}

interface BulkItem {
  status?: number;
  error?: { type?: string; reason?: string };
}

/** `_bulk` item errors about the index whatever their status: `index_closed_exception` is a 400 since Elasticsearch 6. */
const INDEX_ERROR_TYPES: ReadonlySet<string> = new Set(['index_closed_exception', 'index_not_found_exception', 'cluster_block_exception', 'invalid_index_name_exception']);

/**
 * The per-item answer of Elasticsearch/OpenSearch `_bulk` (status 200 even when
 * items failed): 2xx and 409 (the id is already indexed: a resend) are delivered,
 * 429 and 5xx are retried, anything else (mapper_parsing_exception …) is rejected.
 * Except 401, 403, 404, 405, 407 and the INDEX_ERROR_TYPES, which refuse the
 * index, not the document (a read-only block while the disk is full, a missing
 * or closed index, no write privilege): retried too, or every event would be
 * dead-lettered until someone fixed it.
 */
export function bulkOutcomes(body: string, count: number): DeliveryOutcome[] {
  let parsed: { errors?: boolean; items?: Record<string, BulkItem>[] };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new RetriableError(`_bulk answered 200 with a body that is not JSON: ${truncatedBody(body)}`, { code: 'HTTP_BULK_UNREADABLE' });
  }
  const items = parsed.items ?? [];
  if (items.length !== count) throw new RetriableError(`_bulk answered ${items.length} items for ${count} documents`, { code: 'HTTP_BULK_MISMATCH' });
  return items.map((wrapped) => {
    const item = Object.values(wrapped)[0] ?? {};
    const status = item.status ?? 0;
    if ((status >= 200 && status < 300) || status === 409) return { status: 'delivered' };
    const reason = `_bulk item status ${status}${item.error ? `: ${item.error.type ?? ''}${item.error.reason ? ` ${truncatedBody(item.error.reason)}` : ''}` : ''}`;
    const ofTheIndex = NOT_THE_CONTENT.has(status) || INDEX_ERROR_TYPES.has(item.error?.type ?? '');
    return status === 429 || status >= 500 || ofTheIndex ? { status: 'retry', reason } : { status: 'rejected', reason };
  });
}
