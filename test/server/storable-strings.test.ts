/**
 * An acknowledged event is one every store can hold as it was acknowledged:
 * U+0000 (which PostgreSQL's text and jsonb refuse) and unpaired UTF-16
 * surrogates (which UTF-8 turns into U+FFFD) are refused at ingest by index,
 * naming the field, instead of being dead-lettered or silently changed later.
 * A real server with a PostgreSQL audit store.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createPgDatabase } from '../support/pg-database.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const NUL = 'contains U+0000, which the PostgreSQL audit store cannot hold';
const lone = (hex: string) => `contains an unpaired UTF-16 surrogate (\\u${hex}), which is not a character: written as UTF-8 it would be stored as U+FFFD`;

async function pgServer(t: TestContext) {
  const dataDir = await tempDir(t);
  const { url } = await createPgDatabase(t);
  return startServer(t, { dataDir, config: { audit: { emitters: [{ type: 'audit-store', url }] } } });
}

function good(id: string, extra: object = {}) {
  return { type: 'login', time: '2024-01-01T00:00:00Z', id, actor: 'strings-test', ...extra };
}

/** Posts [good, bad, good] for each bad record; returns the answers. */
async function postBetweenGoodOnes(url: string, bad: readonly object[]) {
  const answers = [];
  for (const [i, record] of bad.entries()) {
    const res = await postEvents(url, [good(`good-${i}-a`), record, good(`good-${i}-b`)]);
    answers.push(res);
  }
  return answers;
}

/** What search finds for the test's actor, and that the audit store dead-lettered nothing. */
async function searchable(url: string, count: number) {
  const page = await waitFor(async () => {
    const p = (await (await fetch(`${url}/v1/events?actor=strings-test&limit=1000`)).json()) as { events: { id: string; details: Record<string, unknown> }[] };
    return p.events.length >= count ? p : null;
  }, `${count} events in search`);
  const emitters = (await (await fetch(`${url}/v1/emitters`)).json()) as { emitters: { name: string; deadLettered: number }[] };
  assert.deepEqual(emitters.emitters.map((e) => [e.name, e.deadLettered]), [['audit-store', 0]]);
  return page.events;
}

test('postgres: a record holding U+0000 in any string is rejected by index naming the field; its siblings are acknowledged and searchable', async (t) => {
  const server = await pgServer(t);
  const bad = [
    good('nul-detail', { note: 'a\u0000b' }),
    good('nul-actor', { actor: 'strings-test\u0000' }),
    good('nul-nested', { ctx: { list: ['fine', 'x\u0000'] } }),
    good('nul-key', { 'we\u0000ird': 1 }),
    // auditstream's own event: raw and type are the record's own.
    { id: 'nul-raw', time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'blitz', outcome: 'success', actor: 'strings-test', details: {}, raw: 'r\u0000' },
  ];
  const answers = await postBetweenGoodOnes(server.url, bad);
  const expected = [
    `details.note: ${NUL}`,
    `actor: ${NUL}`,
    `details.ctx.list[1]: ${NUL}`,
    `details["we\\u0000ird"]: the field name ${NUL}`,
    `raw: ${NUL}`,
  ];
  for (const [i, res] of answers.entries()) {
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 2);
    assert.deepEqual(res.body.ids, [`good-${i}-a`, `good-${i}-b`]);
    assert.deepEqual(res.body.rejected, [{ index: 1, error: expected[i] }]);
  }
  const found = await searchable(server.url, 2 * bad.length);
  assert.deepEqual(found.map((e) => e.id).sort(), bad.flatMap((_, i) => [`good-${i}-a`, `good-${i}-b`]).sort());
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('postgres: a record holding an unpaired surrogate is rejected by index naming the field; a paired one is stored as it came', async (t) => {
  const server = await pgServer(t);
  const bad = [
    good('lone-detail', { note: 'a\ud800b' }),
    // A text column would have kept U+FFFD without a word.
    good('lone-actor', { actor: 'strings-test\udfff' }),
    // Both halves, in the wrong order: two lone ones.
    good('lone-reversed', { note: '\ude00\ud83d' }),
    good('lone-key', { ['\udc00']: 'v' }),
  ];
  const answers = await postBetweenGoodOnes(server.url, bad);
  const expected = [`details.note: ${lone('d800')}`, `actor: ${lone('dfff')}`, `details.note: ${lone('de00')}`, `details["\\udc00"]: the field name ${lone('dc00')}`];
  for (const [i, res] of answers.entries()) {
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.ids, [`good-${i}-a`, `good-${i}-b`]);
    assert.deepEqual(res.body.rejected, [{ index: 1, error: expected[i] }]);
  }

  // A pair sent escaped (as ensure_ascii JSON writers send every emoji) is one character: accepted and kept.
  const body = `[${JSON.stringify(good('pair-escaped')).slice(0, -1)},"note":"smile \\ud83d\\ude00"}]`;
  const pair = await postEvents(server.url, body, { 'content-type': 'application/json' });
  assert.equal(pair.status, 202, JSON.stringify(pair.body));
  assert.deepEqual(pair.body.rejected, []);

  const found = await searchable(server.url, 2 * bad.length + 1);
  assert.deepEqual(found.map((e) => e.id).sort(), [...bad.flatMap((_, i) => [`good-${i}-a`, `good-${i}-b`]), 'pair-escaped'].sort());
  assert.equal(found.find((e) => e.id === 'pair-escaped')!.details.note, 'smile 😀');
});
