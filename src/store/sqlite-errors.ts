import { AuditstreamError, FatalError, InvalidEventError, RetriableError } from '../core/errors.js';

/** Result codes that clear up by themselves: locks held by another writer, a full or flaky disk. */
const RETRIABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL|INTERRUPT)/;
/**
 * Result codes caused by one row's content. Not SQLITE_RANGE: a bind index
 * out of range is this code's mistake, the same for every row, and taken as
 * content it would dead-letter every event in turn.
 */
const ROW_CODES = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/;

export function classifySqliteError(err: unknown, location: string): unknown {
  if (err instanceof AuditstreamError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  if (code.startsWith('SQLITE_')) {
    if (RETRIABLE_CODES.test(code)) return new RetriableError(`audit store ${location}: ${err.message}`, { cause: err, code });
    if (ROW_CODES.test(code)) return new InvalidEventError(`audit store ${location}: ${err.message}`, { cause: err });
    return new FatalError(`audit store ${location}: ${err.message}`, { cause: err, code });
  }
  if (code.startsWith('E')) {
    // Filesystem errors from creating the directory or opening the file (EACCES, ENOSPC …).
    const transient = code === 'ENOSPC' || code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE' || code === 'EIO';
    return transient
      ? new RetriableError(`audit store ${location}: ${err.message}`, { cause: err, code })
      : new FatalError(`audit store ${location}: ${err.message}`, { cause: err, code });
  }
  return err;
}

/** An error as it crosses from the writer thread: classes do not survive postMessage, so name and code do. */
export interface WireError {
  name: string;
  code: string | undefined;
  message: string;
  /** An InvalidEventError's index of the refused event in its batch. */
  index?: number;
}

export function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === 'string' ? code : undefined, message: err.message };
  }
  return { name: 'Error', code: undefined, message: String(err) };
}

/** Programming errors keep their class too: the delivery loop never retries them. */
const BUILTIN: Record<string, new (message: string) => Error> = { TypeError, RangeError, SyntaxError, ReferenceError };

/** Rebuilds the class the writer thread threw, so retry decisions are the same as in one thread. */
export function fromWire(wire: WireError): Error {
  switch (wire.name) {
    case 'RetriableError':
      return new RetriableError(wire.message, wire.code === undefined ? undefined : { code: wire.code });
    case 'FatalError':
      return new FatalError(wire.message, wire.code === undefined ? undefined : { code: wire.code });
    case 'InvalidEventError':
      return new InvalidEventError(wire.message, { index: wire.index });
  }
  const Builtin = BUILTIN[wire.name];
  if (Builtin) return new Builtin(wire.message);
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}
