import { QueryError } from './query-error.js';

/**
 * The (time, id, source) of the last event of a page: the next page starts
 * strictly after it. Two producers may use the same id, so id alone does not
 * break a tie in time; (id, source) is an event's identity in the store.
 */
export interface CursorPosition {
  timeMs: number;
  id: string;
  source: string;
}

/** Opaque to clients: base64url of a JSON array, so it survives any query string. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.timeMs, position.id, position.source])).toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  const bad = () => new QueryError('cursor', 'not a cursor returned by this API (pass nextCursor back unchanged)');
  // Buffer.from silently skips characters outside the alphabet; check first.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(value) ||
    (value.length !== 2 && value.length !== 3) ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string' ||
    value[1] === '' ||
    (value.length === 3 && typeof value[2] !== 'string')
  ) {
    throw bad();
  }
  // A cursor from before sources joined it is a pair; '' sorts below every source, so such a
  // page resumes after every event of that time and id, as it did then.
  return { timeMs: value[0] as number, id: value[1], source: (value[2] as string | undefined) ?? '' };
}
