import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abortable, Serial, sleep } from '../../src/core/async.js';
import { RetriableError } from '../../src/core/errors.js';

test('sleep resolves on abort instead of waiting out its time, and does not reject', async () => {
  const ac = new AbortController();
  const slept = sleep(3_600_000, ac.signal);
  ac.abort();
  await slept;
  await sleep(3_600_000, ac.signal);
  await sleep(-5);
});

test('abortable stops waiting on abort with a RetriableError; the work outcome passes through otherwise', async () => {
  const ac = new AbortController();
  const never = new Promise<never>(() => {});
  const waiting = abortable(never, ac.signal);
  ac.abort(new Error('shutdown deadline'));
  await assert.rejects(waiting, (e: unknown) => e instanceof RetriableError && /shutdown deadline/.test(e.message));
  await assert.rejects(abortable(Promise.resolve(1), ac.signal), RetriableError, 'already aborted');
  await assert.rejects(abortable(never, ac.signal, () => new TypeError('mine')), TypeError);
  assert.equal(await abortable(Promise.resolve(7), new AbortController().signal), 7);
  await assert.rejects(abortable(Promise.reject(new Error('boom')), new AbortController().signal), /boom/);
});

test('Serial runs one function at a time in call order, and a failure does not stop the next', async () => {
  const serial = new Serial();
  const log: string[] = [];
  let release!: () => void;
  const first = serial.run(async () => {
    log.push('a start');
    await new Promise<void>((r) => (release = r));
    log.push('a end');
    throw new Error('a failed');
  });
  const second = serial.run(async () => {
    log.push('b');
    return 2;
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['a start']);
  release();
  await assert.rejects(first, /a failed/);
  assert.equal(await second, 2);
  assert.deepEqual(log, ['a start', 'a end', 'b']);
});
