import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { secretScrubber } from '../../src/tenants/secret-scrubber.js';
import { scrubbingLogger } from '../../src/tenants/scrubbing-logger.js';

const SECRET = 'sasl-password-0c4f7e21';

test("a sink's logger writes none of its destination's secrets: not in the message, a field, an error's message, stack or cause, nor a child's bindings", () => {
  const lines: string[] = [];
  const root = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const logger = scrubbingLogger(root, { emitter: 'acme/stream' }, secretScrubber('kafka', { sasl: { mechanism: 'PLAIN', username: 'alice', password: SECRET } }));
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
