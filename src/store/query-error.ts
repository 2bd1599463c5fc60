import { AuditstreamError } from '../core/errors.js';

/**
 * A search parameter is wrong (bad time, foreign cursor, unknown filter).
 * `parameter` names it so the HTTP layer can answer 400 saying which one.
 */
export class QueryError extends AuditstreamError {
  readonly code = 'QUERY_INVALID';
  readonly retriable = false;
  constructor(
    readonly parameter: string,
    readonly problem: string,
  ) {
    super(`${parameter}: ${problem}`);
  }
}
