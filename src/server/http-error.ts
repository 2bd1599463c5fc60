/** An error with the HTTP status and stable code the API answers with. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Sent as the Retry-After header (whole seconds, rounded up): when the same request may succeed. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A Retry-After header value: whole seconds, rounded up, at least 1 (0 would invite a retry storm). */
export function retryAfterHeader(sec: number): string {
  return String(Math.max(1, Math.ceil(sec)));
}
