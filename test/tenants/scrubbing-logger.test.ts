import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { secretScrubber } from '../../src/tenants/secret-scrubber.js';
import { scrubbingLogger } from '../../src/tenants/scrubbing-logger.js';

const SECRET = 'sasl-password-0c4f7e21';

function kafkaSinkLogger() {
  const lines: string[] = [];
  const root = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const logger = scrubbingLogger(root, { emitter: 'acme/stream' }, secretScrubber('kafka', { sasl: { mechanism: 'PLAIN', username: 'alice', password: SECRET } }));
  return { lines, root, logger, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, any>) };
}

test("a sink's logger writes none of its destination's secrets: not in the message, a field, an error's message, stack or cause, nor a child's bindings", () => {
  const { lines, root, logger } = kafkaSinkLogger();
  const cycle: Record<string, unknown> = { said: `refused ${SECRET}` };
  cycle.self = cycle;

  logger.warn({ kafka: { broker: '127.0.0.1:9092', error: `invalid credentials alice:${SECRET}` }, endpoint: new URL(`http://h/?p=${SECRET}`), cycle }, 'SASL failed: %s', SECRET);
  logger.error(new Error(`connect failed for ${SECRET}`, { cause: new Error(`broker said ${SECRET}`) }));
  logger.child({ stream: `s-${SECRET}` }).child({}, { level: 'debug' }).debug(`retrying ${SECRET}`);
  root.info({ operator: 'unchanged' }, 'the root logger is left as it was');

  assert.equal(lines.length, 4);
  const text = lines.join('');
  assert.ok(!text.includes(SECRET), text);
  const [warn, error, debug] = lines.map((line) => JSON.parse(line) as Record<string, any>);
  assert.equal(warn!.msg, 'SASL failed: ********');
  assert.equal(warn!.kafka.error, 'invalid credentials alice:********');
  assert.equal(warn!.endpoint, 'http://h/?p=********');
  assert.deepEqual(warn!.cycle, { said: 'refused ********', self: '[Circular]' });
  assert.equal(warn!.emitter, 'acme/stream');
  assert.equal(error!.err.type, 'Error');
  assert.equal(error!.err.message, 'connect failed for ********: broker said ********');
  assert.match(error!.err.stack, /^Error: connect failed for \*{8}\n[^]*caused by: Error: broker said \*{8}/);
  assert.equal(debug!.stream, 's-********');
  assert.equal(debug!.msg, 'retrying ********');
});

test('a log call of a sink never throws where plain pino does not, and writes what it could not read as [unserializable]', () => {
  const { root, logger, parsed } = kafkaSinkLogger();
  class Private extends Error {
    #detail = 'x';
    get detail() {
      return this.#detail;
    }
    static {
      Object.defineProperty(Private.prototype, 'detail', { enumerable: true });
    }
  }
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 20_000; i++) deep = { d: deep };
  const cases: Record<string, object> = {
    // An aborted fetch or socket: its reason is a DOMException, whose getters throw on any object but itself.
    domException: { err: AbortSignal.abort().reason as object },
    privateGetter: { err: new Private(`m ${SECRET}`) },
    throwingGetter: { o: { get g(): never { throw new Error('boom'); } } },
    throwingToJSON: { o: { toJSON(): never { throw new Error('boom'); } } },
    deep: { deep },
  };
  for (const [name, fields] of Object.entries(cases)) {
    assert.doesNotThrow(() => root.warn(fields, 'plain pino'), `plain pino, ${name}`);
    assert.doesNotThrow(() => logger.warn(fields, name), `scrubbing logger, ${name}`);
  }
  const byMsg = new Map(parsed().map((line) => [line.msg, line]));
  assert.equal(byMsg.get('domException')!.err.type, 'DOMException');
  assert.equal(byMsg.get('domException')!.err.message, 'This operation was aborted');
  assert.match(byMsg.get('domException')!.err.stack, /^AbortError: This operation was aborted/);
  assert.deepEqual([byMsg.get('privateGetter')!.err.type, byMsg.get('privateGetter')!.err.message, byMsg.get('privateGetter')!.err.detail], ['Private', 'm ********', 'x']);
  assert.deepEqual(byMsg.get('throwingGetter')!.o, { g: '[unserializable]' });
  assert.equal(byMsg.get('throwingToJSON')!.o, '[unserializable]');
  // As deep as pino writes what JSON.stringify refuses (its depthLimit, 5).
  assert.deepEqual(byMsg.get('deep')!.deep, { d: { d: { d: { d: { d: { d: '[Object]' } } } } } });
});

test("a sink's logger writes none of its secret through setBindings, a child's own formatters or serializers, or a Buffer's bytes, and still applies the child's own", () => {
  const { logger, lines, parsed } = kafkaSinkLogger();
  const child = logger.child({});
  child.setBindings({ stream: `s-${SECRET}` });
  child.warn('after setBindings');
  logger.child({}, { formatters: { log: (fields: object) => ({ ...fields, own: 'log' }) } }).warn({ said: SECRET }, 'own formatters.log');
  logger.child({}, { serializers: { msg: (m: string) => `said: ${m}`, said: (s: string) => `[${s}]` } } as object).warn({ said: SECRET }, `own serializers ${SECRET}`);
  logger.warn({ buffer: Buffer.from(SECRET), bytes: new TextEncoder().encode(SECRET) }, 'bytes');
  assert.equal(lines.length, 4);
  assert.ok(!lines.join('').includes(SECRET), lines.join(''));
  const [bound, ownLog, ownSerializers, bytes] = parsed();
  assert.equal(bound!.stream, 's-********');
  assert.deepEqual([ownLog!.said, ownLog!.own], ['********', 'log']);
  assert.deepEqual([ownSerializers!.msg, ownSerializers!.said], ['said: own serializers ********', '[********]']);
  // Written as numbers, the bytes would decode straight to the secret.
  assert.deepEqual([bytes!.buffer, bytes!.bytes], [`[${SECRET.length} bytes]`, `[${SECRET.length} bytes]`]);
});

test("a sink's logger writes what an object's toJSON gives as JSON.stringify does: one returning the object itself is no cycle, the result's own toJSON is not called", () => {
  const { root, logger, lines } = kafkaSinkLogger();
  const fields = { self: { said: SECRET, toJSON() { return this; } }, wrapped: { toJSON: () => ({ said: SECRET, toJSON: () => `not called ${SECRET}` }) } };
  root.warn(fields, 'plain pino');
  logger.warn(fields, 'scrubbing logger');
  const [plain, scrubbed] = lines.map((line) => JSON.parse(line) as Record<string, any>);
  assert.deepEqual(plain!.self, { said: SECRET });
  assert.deepEqual(plain!.wrapped, { said: SECRET });
  assert.deepEqual([scrubbed!.self, scrubbed!.wrapped], [{ said: '********' }, { said: '********' }]);
});
