import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { parseRecord } from '../../src/formats/parse.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ActivitySummary, type SummaryLine } from '../../src/pipeline/summary.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

type Fields = SummaryLine['fields'];

const sum = (lines: Fields[], pick: (f: Fields) => number | undefined) => lines.reduce((n, f) => n + (pick(f) ?? 0), 0);

test('at info, serve logs a one-line summary of what it received, delivered and queued', async (t) => {
  const server = await startServer(t, { dataDir: await tempDir(t), config: { logSummaryEverySec: 1 }, env: { AUDITSTREAM_LOG_LEVEL: 'info' } });
  const events = ['s1', 's2', 's3'].map((id) => ({ id, type: 'login', time: '2024-01-01T00:00:00Z' }));
  assert.equal((await postEvents(server.url, events)).status, 202);

  const summaries = () =>
    server
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"summary"'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; summary: Fields });
  const lines = await waitFor(() => {
    const all = summaries();
    const fields = all.map((l) => l.summary);
    const done = sum(fields, (f) => f.received) === 3 && sum(fields, (f) => f.delivered.log) === 3 && sum(fields, (f) => f.delivered['audit-store']) === 3;
    return done && all.at(-1)!.summary.queued === 0 ? all : null;
  }, 'summary lines adding up to 3 received, 3 delivered by each emitter, none queued');
  for (const line of lines) {
    assert.equal(line.level, 30, 'logged at info');
    assert.match(line.msg, /^last \d+ s: received \d+, delivered \d+( \(.*\))?, queued \d+, failing: none$/);
  }
  assert.match(lines.map((l) => l.msg).join('\n'), /delivered \d+ \((log \d+, audit-store \d+|audit-store \d+, log \d+|log \d+|audit-store \d+)\)/);
});

test('the summary says nothing for a period in which nothing happened', async (t) => {
  const dataDir = await tempDir(t);
  const config = parseConfig(configSchema, { dataDir }, '');
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  t.after(() => pipeline.stop(1000));
  const summary = new ActivitySummary(pipeline);
  assert.equal(await summary.next(), undefined, 'a fresh, idle server: no line');

  const events = ['q1', 'q2'].flatMap((id) => parseRecord({ text: JSON.stringify({ id, type: 'logout', time: '2024-01-01T00:00:00Z' }) }, 'auto'));
  assert.ok((await pipeline.router.publish(events)).ok);
  const lines: Fields[] = [];
  await waitFor(async () => {
    const line = await summary.next();
    if (line) lines.push(line.fields);
    return sum(lines, (f) => f.delivered.log) === 2 && sum(lines, (f) => f.delivered['audit-store']) === 2 && lines.at(-1)!.queued === 0;
  }, 'both events delivered to both emitters');
  assert.equal(sum(lines, (f) => f.received), 2);
  assert.deepEqual(lines.at(-1)!.failing, []);

  assert.equal(await summary.next(), undefined, 'nothing happened since the last line: no line');
});
