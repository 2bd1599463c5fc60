import { isProgrammingError, RetriableError } from '../../core/errors.js';

/**
 * A file-system failure (unwritable or missing directory, a path under a
 * regular file, disk full, read-only file system) is a property of the
 * destination that an operator can fix, so it is retriable: the durable queue
 * keeps the events and delivery resumes once the path is writable again.
 * The message names the path and the errno code, which is what an operator
 * needs to fix it.
 */
export function fileError(err: unknown, action: string, path: string): Error {
  if (isProgrammingError(err)) return err as Error;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new RetriableError(`log sink: cannot ${action} ${path}: ${describeFsError(err)}`, {
    cause: err,
    code: code ? `LOG_${code}` : 'LOG_IO',
  });
}

/** "ENOTDIR: not a directory": the errno code and its meaning, without Node's repeat of the path. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code && message.startsWith(`${code}: `)) return message.split(', ')[0]!;
  return code ? `${code}: ${message}` : message;
}
