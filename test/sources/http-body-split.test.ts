import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitBody } from '../../src/sources/http/body-split.js';
import { Pacer } from '../../src/sources/http/pacer.js';

const limits = { maxEventsPerRequest: 100, maxDepth: 4 };

test('NDJSON split on bytes: multi-byte text intact, CRLF and blank lines skipped, line numbers of the body', async () => {
  const body = Buffer.from('{"m":"é ✓ 🎉"}\r\n\r\n   \n\u00a0\t\n{"n":1}\nnot json\n{"a":[[[[[1]]]]]}\n', 'utf8');
  const records = await splitBody(body, 'ndjson', limits, new Pacer());
  assert.deepEqual(
    records.map((r) => ({ index: r.index, line: r.line, text: r.text, value: r.value })),
    [
      { index: 0, line: 1, text: '{"m":"é ✓ 🎉"}', value: { m: 'é ✓ 🎉' } },
      { index: 1, line: 5, text: '{"n":1}', value: { n: 1 } },
      { index: 2, line: 6, text: 'not json', value: undefined },
      { index: 3, line: 7, text: '{"a":[[[[[1]]]]]}', value: undefined },
    ],
  );
  assert.match(records[2]!.error!, /^line 6: not JSON: /);
  assert.equal(records[3]!.error, 'nested 6 levels deep, over server.limits.maxDepth (4)');
});

test("a text body's byte order mark is not part of its first line; an NDJSON body's is, and that line is not JSON", async () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const text = await splitBody(Buffer.concat([bom, Buffer.from('first\nsecond')]), 'text', limits, new Pacer());
  assert.deepEqual(text.map((r) => r.text), ['first', 'second']);
  const ndjson = await splitBody(Buffer.concat([bom, Buffer.from('{"a":1}')]), 'ndjson', limits, new Pacer());
  assert.match(ndjson[0]!.error!, /^line 1: not JSON/);
});

test('an NDJSON line is measured for depth whatever its length: brackets inside strings (escaped quotes too) do not count, a line longer than one scan chunk is measured across chunks', async () => {
  const padding = 'x'.repeat(70 * 1024);
  const lines = [
    '{"s":"[[[[[[ \\" [[[[[[","n":[1]}',
    `{"s":"${padding}","a":[[[[[1]]]]]}`,
    `{"s":"${padding}[[[[[[","a":[1]}`,
  ];
  const records = await splitBody(Buffer.from(lines.join('\n')), 'ndjson', limits, new Pacer());
  assert.deepEqual(records[0]!.value, { s: '[[[[[[ " [[[[[[', n: [1] });
  assert.equal(records[1]!.error, 'nested 6 levels deep, over server.limits.maxDepth (4)');
  assert.equal(records[1]!.value, undefined);
  assert.equal((records[2]!.value as { a: number[] }).a[0], 1);
});
