import { setTimeout as delay } from 'node:timers/promises';
import { RetriableError, errorMessage } from './errors.js';

/**
 * Resolves after `ms`, or early when `signal` aborts. It never rejects: every
 * caller waits between attempts of a loop that checks the signal itself, and an
 * abort is how that loop learns to stop, not a failure.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}

/**
 * Stops waiting for `work` when `signal` aborts: for calls that take no
 * AbortSignal of their own (kafkajs, a publisher), so a shutdown deadline
 * holds. The work itself goes on; its outcome is then unknown to the caller.
 * By default the rejection is a RetriableError naming the abort reason.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal, aborted: (reason: unknown) => Error = abortedError): Promise<T> {
  if (signal.aborted) return Promise.reject(aborted(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abortedError(reason: unknown): Error {
  return new RetriableError(reason === undefined ? 'aborted' : `aborted: ${errorMessage(reason)}`);
}

/**
 * Runs the functions given to `run` one at a time, in call order, whether the
 * previous one resolved or failed: e.g. appends to one file, or renew/release
 * of one lease, which must never interleave.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
