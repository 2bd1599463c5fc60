/**
 * One error base with a stable code and a `retriable` flag set by the subclass:
 * the delivery loop decides retry vs. give-up from the class alone, never from
 * message text.
 */
export abstract class AuditstreamError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Transient: throttling, timeouts, 5xx, connection loss. Retried with capped backoff. */
export class RetriableError extends AuditstreamError {
  readonly code: string;
  readonly retriable = true;
  /** The destination's own hint (Retry-After), when it gave one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; code?: string; retryAfterMs?: number }) {
    super(message, options);
    this.code = options?.code ?? 'RETRIABLE';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * Not fixed by retrying soon: bad credentials, a missing stream, access denied.
 * Thrown by a sink for a whole batch it puts the emitter into state `failing`;
 * the events stay queued and are retried at the longest backoff so that fixing
 * the destination resumes delivery without losing anything.
 */
export class FatalError extends AuditstreamError {
  readonly code: string;
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'FATAL';
  }
}

/** A configuration value is wrong. `path` names the key, e.g. `audit.emitters[2].include[0]`. */
export class ConfigError extends AuditstreamError {
  readonly code = 'CONFIG_INVALID';
  readonly retriable = false;
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
  }
}

/**
 * Every problem one validation run found, so a user fixes them all at once
 * instead of meeting them one start at a time. Still a ConfigError (exit 2);
 * the message is one `path: problem` line per error.
 */
export class ConfigErrors extends ConfigError {
  constructor(readonly errors: readonly ConfigError[]) {
    super('', errors.map((e) => e.message).join('\n'));
  }
}

/** Throws nothing for no errors, the error itself for one, ConfigErrors for several. */
export function throwConfigErrors(errors: readonly ConfigError[]): void {
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new ConfigErrors(errors);
}

/** One input record cannot be accepted; names what is wrong with it. */
export class InvalidEventError extends AuditstreamError {
  readonly code = 'EVENT_INVALID';
  readonly retriable = false;
  /**
   * Where the refused event is in the batch the throwing call was given, when
   * it knows: the caller can then set that one event aside and send the rest
   * again at once, instead of searching the batch for it.
   */
  readonly index: number | undefined;
  constructor(message: string, options?: { cause?: unknown; index?: number }) {
    // Bad input arrives at ingest rates and its stack says nothing about it: capturing one
    // cost more than parsing the record (half the server's CPU under a hostile load).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.index = options?.index;
  }
}

/** Programming errors must never be retried (kafkajs habit). */
export function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
