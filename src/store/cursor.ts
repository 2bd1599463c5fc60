import { QueryError } from './query-error.js';

/** The (time, id) of the last event of a page: the next page starts strictly after it. */
export interface CursorPosition {
  timeMs: number;
  id: string;
}

/** Opaque to clients: base64url of a JSON pair, so it survives any query string. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.timeMs, position.id])).toString('base64url');
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
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string' ||
    value[1] === ''
  ) {
    throw bad();
  }
  return { timeMs: value[0] as number, id: value[1] };
}
