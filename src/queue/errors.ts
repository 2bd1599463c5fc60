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

/** The queue could not be written (disk full, I/O error). Reported, never a crash. */
export class QueueWriteError extends RetriableError {
  constructor(queueName: string, cause: unknown) {
    const code = (cause as { code?: string })?.code ?? 'EIO';
    const why = code === 'SQLITE_FULL' ? 'the disk is full' : `${code}: ${(cause as Error)?.message ?? String(cause)}`;
    super(`cannot write the queue of emitter "${queueName}": ${why}`, { cause, code: code === 'SQLITE_FULL' ? 'DISK_FULL' : 'QUEUE_WRITE' });
  }
}
