import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { emitterDeadLetterPath } from '../../src/queue/dead-letter-file.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { tempDir, waitFor } from '../support/temp.js';

const TOKEN = 'operator-webhook-bearer-93c1f0';

const event = (id: string): AuditEvent => ({ id, time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' });

test("an operator's emitter says what its receiver answered with the emitter's secrets scrubbed: in its dead letters, its health and the server's log, and when its sink fails to close", async (t) => {
  const dataDir = await tempDir(t);
  // A receiver that refuses the event and quotes the credentials it was sent, as some webhooks' error bodies do.
  let status = 400;
  const receiver = await startHttpReceiver(t, (req) => ({ status, body: `refused for ${String(req.headers.authorization)}` }));
  const config = parseConfig(
    configSchema,
    { dataDir, audit: { emitters: [{ type: 'http', name: 'hook', url: `${receiver.url}/in`, auth: { bearer: TOKEN }, batch: { lingerMs: 0 } }] } },
    '',
  );
  const logLines: string[] = [];
  const pipeline = await Pipeline.start(config, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  let stopped = false;
  t.after(() => (stopped ? undefined : pipeline.stop(2000)));

  assert.equal((await pipeline.router.publish([event('e1')])).ok, true);
  const deadLetters = await waitFor(() => {
    try {
      return readFileSync(emitterDeadLetterPath(dataDir, 'hook'), 'utf8') || undefined;
    } catch {
      return undefined;
    }
  }, 'the refused event in the dead-letter file');
  assert.ok(receiver.requests.some((r) => r.headers.authorization === `Bearer ${TOKEN}`), 'the receiver was sent the real token');
  assert.match(deadLetters, /refused for Bearer \*{8}/);
  assert.ok(!deadLetters.includes(TOKEN), deadLetters);

  // Refused credentials are retried, and the emitter's health shows why it is failing.
  status = 401;
  const emitter = pipeline.emitter('hook')!;
  assert.equal((await pipeline.router.publish([event('e2')])).ok, true);
  const lastError = await waitFor(() => emitter.health().lastError ?? undefined, 'the emitter failing');
  assert.match(lastError, /refused for Bearer \*{8}/);
  assert.ok(!lastError.includes(TOKEN), lastError);

  emitter.sink.close = () => Promise.reject(new Error(`logout refused for Bearer ${TOKEN}`));
  stopped = true;
  await pipeline.stop(2000);
  const log = logLines.join('');
  assert.match(log, /logout refused for Bearer \*{8}/);
  assert.ok(!log.includes(TOKEN), log);
});
