/**
 * Test & Add as one function over a resolved emitter config: what the HTTP
 * route, the CLI and (later) the tenants API's "POST destinations" call.
 * Real PostgreSQL, real ports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createSink, Pipeline } from '../../src/pipeline/pipeline.js';
import { testAndAdd } from '../../src/pipeline/test-and-add.js';
import { makeEvent } from '../store/events.js';
import { createPgDatabase } from '../support/pg-database.js';
import { freePort } from '../support/free-port.js';
import { tempDir } from '../support/temp.js';

const logger = pino({ level: 'silent' });

/** Resolves emitter blocks as a config would, without any config file. */
function resolved(dataDir: string, emitter: Record<string, unknown>) {
  return Pipeline.validate({ dataDir, audit: { emitters: [emitter] } }).emitters[0]!;
}

async function connectionsTo(url: string): Promise<number> {
  const database = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    return res.rows[0].n as number;
  } finally {
    await client.end();
  }
}

test('Test & Add checks a destination that is in no config file, and closes the sink it created for the test', async (t) => {
  const dataDir = await tempDir(t);
  const db = await createPgDatabase(t);
  const emitter = resolved(dataDir, { type: 'audit-store', name: 'new-destination', url: db.url });

  const answer = await testAndAdd(emitter, { dataDir, logger, metrics: new Registry() });
  assert.equal(answer.emitter, 'new-destination');
  assert.equal(answer.ok, true, JSON.stringify(answer));
  assert.deepEqual(answer.steps.map((s) => s.ok), [true, true]);
  assert.match(answer.steps[1]!.detail, /0 events stored/);
  // The test's connections are gone once it answers: repeated tests do not pile up idle connections on the database.
  assert.equal(await connectionsTo(db.url), 0);
});

test('Test & Add checks a running sink in place and leaves it open for delivery', async (t) => {
  const dataDir = await tempDir(t);
  const db = await createPgDatabase(t);
  const emitter = resolved(dataDir, { type: 'audit-store', name: 'running', url: db.url });
  const running = db.own(await createSink(emitter, { emitterName: 'running', dataDir, logger, metrics: new Registry() }));

  const answer = await testAndAdd(emitter, { dataDir, logger, metrics: new Registry(), running });
  assert.equal(answer.ok, true, JSON.stringify(answer));
  const outcomes = await running.send([makeEvent({ id: 'after-test' })], AbortSignal.timeout(10_000));
  assert.deepEqual(outcomes, [{ status: 'delivered' }]);
});

test('Test & Add of an unreachable destination answers ok: false with the step that failed, naming where', async (t) => {
  const dataDir = await tempDir(t);
  const port = await freePort(); // nothing listens there
  const emitter = resolved(dataDir, { type: 'audit-store', name: 'nowhere', url: `postgres://postgres@127.0.0.1:${port}/audit` });

  const answer = await testAndAdd(emitter, { dataDir, logger, metrics: new Registry() });
  assert.equal(answer.ok, false);
  const failed = answer.steps.find((s) => !s.ok)!;
  assert.match(failed.step, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(failed.detail, /ECONNREFUSED|refused/i);
});
