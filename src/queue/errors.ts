import { RetriableError } from '../core/errors.js';

/** The queue is at `queue.maxBytes` and `whenFull: block`: the producer should come back later. */
export class QueueFullError extends RetriableError {
  constructor(
    readonly queueName: string,
    readonly retryAfterSec: number,
  ) {
    super(`queue of emitter "${queueName}" is full`, { code: 'QUEUE_FULL', retryAfterMs: retryAfterSec * 1000 });
  }
}

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** The journal (or an old queue being migrated) could not be written: disk full, I/O error. Reported, never a crash. */
export class QueueWriteError extends RetriableError {
  /** `what`: "the journal", "the queue of emitter "log"". */
  constructor(what: string, cause: unknown) {
    const code = (cause as { code?: string })?.code ?? 'EIO';
    const full = DISK_FULL_CODES.has(code);
    const why = full ? `the disk is full (${code})` : `${code}: ${(cause as Error)?.message ?? String(cause)}`;
    super(`cannot write ${what}: ${why}`, { cause, code: full ? 'DISK_FULL' : 'QUEUE_WRITE' });
  }
}
