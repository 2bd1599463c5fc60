import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ThrottledWarnings } from '../../src/sources/http/throttled-warnings.js';

test("the http source's warnings: one line per kind per interval, the next one counting everything since", async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ base: null, timestamp: false }, sink);
  const warnings = new ThrottledWarnings(logger, 200);
  const line = (err: string) => () => ({ fields: { err }, countField: 'refused', msg: 'request refused' });

  warnings.note('body_malformed', 1, line('first'));
  warnings.note('body_malformed', 1, line('second'));
  warnings.note('body_malformed', 1, line('third'));
  warnings.note('too_many_events', 1, line('another kind'));
  assert.deepEqual(
    lines.map((l) => [l.err, l.refused]),
    [
      ['first', 1],
      ['another kind', 1],
    ],
  );

  await sleep(250);
  warnings.note('body_malformed', 2, line('after the interval'));
  assert.deepEqual(lines.at(-1), { level: 40, err: 'after the interval', refused: 4, msg: 'request refused' }, 'the two suppressed and these two');
});
