/**
 * What a user relies on from any audit store, run once per backend
 * (sqlite-store.test.ts, postgres-store.test.ts) against the real database.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { InvalidEventError } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import type { AuditStore, SearchOptions, SearchPage, SearchQuery } from '../../src/store/audit-store.js';
import { AmbiguousEventIdError } from '../../src/store/ambiguous-id-error.js';
import { QueryError } from '../../src/store/query-error.js';
import { eventSeries, makeEvent } from './events.js';

export interface StoreLocation {
  /** A new store on this location, closed when the test ends. Each call is a separate connection. */
  open(): AuditStore;
  /** Versions recorded in schema_migrations, read independently of the store. */
  schemaVersions(): Promise<number[]>;
  /** The versions this backend's migrations record, all applied. */
  latestVersions: readonly number[];
}

/** Creates a fresh, empty location (file or database) for one test. */
export type LocationFactory = (t: TestContext) => Promise<StoreLocation>;

async function freshStore(t: TestContext, location: LocationFactory): Promise<AuditStore> {
  return (await location(t)).open();
}

/** Pages through a search until the end, returning every page. */
async function allPages(store: AuditStore, query: SearchQuery, options?: SearchOptions, answers: SearchPage[] = []): Promise<AuditEvent[][]> {
  const pages: AuditEvent[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ ...query, ...(cursor && { cursor }) }, options);
    answers.push(page);
    pages.push(page.events);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

const ids = (events: readonly AuditEvent[]) => events.map((e) => e.id);

export function storeBehaviour(backend: string, location: LocationFactory): void {
  test(`${backend}: migrations apply once; reopening and concurrent opening are harmless`, async (t) => {
    const loc = await location(t);
    const [a, b] = [loc.open(), loc.open()];
    // Two stores migrating the fresh location at the same moment.
    await Promise.all([a.ping(), b.ping()]);
    await a.insert([makeEvent({ id: 'kept-across-reopen' })]);
    await a.close();
    const c = loc.open();
    await c.ping();
    assert.equal((await c.get('kept-across-reopen'))?.id, 'kept-across-reopen');
    assert.deepEqual(await loc.schemaVersions(), loc.latestVersions);
  });

  test(`${backend}: an event reads back exactly as inserted, optional fields absent stay absent`, async (t) => {
    const store = await freshStore(t, location);
    const full = makeEvent();
    const minimal: AuditEvent = { id: 'minimal-1', time: '2024-05-01T12:00:01.000Z', type: 'logout', source: 'blitz', outcome: 'unknown', details: {}, raw: '' };
    assert.deepEqual(await store.insert([full, minimal]), { inserted: 2, duplicates: 0 });
    assert.deepEqual(await store.get(full.id), full);
    assert.deepEqual(await store.get('minimal-1'), minimal);
    assert.equal(await store.get('no-such-id'), undefined);
    assert.equal(await store.count(), 2);
  });

  test(`${backend}: a "__proto__" detail and an id of any Unicode read back as they went in`, async (t) => {
    const store = await freshStore(t, location);
    const details = JSON.parse('{"__proto__":{"isAdmin":true},"constructor":"c"}') as Record<string, unknown>;
    const event = makeEvent({ id: `a/b?c#d%e f 名😀${'x'.repeat(240)}`, details });
    await store.insert([event]);
    const back = await store.get(event.id);
    assert.ok(back && Object.hasOwn(back.details, '__proto__'));
    assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(event)));
  });

  test(`${backend}: times with an offset are stored as the same instant in UTC`, async (t) => {
    const store = await freshStore(t, location);
    await store.insert([makeEvent({ id: 'offset', time: '2022-11-04T17:49:58.384+03:00' })]);
    assert.equal((await store.get('offset'))?.time, '2022-11-04T14:49:58.384Z');
    const { events } = await store.search({ from: '2022-11-04T14:49:58.384Z', to: '2022-11-04T14:49:58.385Z' });
    assert.deepEqual(ids(events), ['offset']);
  });

  test(`${backend}: replaying a batch stores each event once and reports duplicates`, async (t) => {
    const store = await freshStore(t, location);
    const batch = eventSeries(20);
    assert.deepEqual(await store.insert(batch), { inserted: 20, duplicates: 0 });
    // At-least-once delivery: the same batch again, then an overlapping one with a repeat inside it.
    assert.deepEqual(await store.insert(batch), { inserted: 0, duplicates: 20 });
    const extra = makeEvent({ id: 'extra' });
    assert.deepEqual(await store.insert([batch[0]!, extra, extra]), { inserted: 1, duplicates: 2 });
    assert.equal(await store.count(), 21);
    assert.deepEqual(await store.insert([]), { inserted: 0, duplicates: 0 });
  });

  test(`${backend}: two producers' event 42 are both stored and fetchable; a resend of either is a duplicate`, async (t) => {
    const store = await freshStore(t, location);
    const foxpass = makeEvent({ id: '42', source: 'foxpass', type: 'ldap.bind', time: '2024-05-01T12:00:00.000Z' });
    const blitz = makeEvent({ id: '42', source: 'blitz', type: 'login', time: '2024-05-01T12:00:00.000Z' });
    assert.deepEqual(await store.insert([foxpass, blitz]), { inserted: 2, duplicates: 0 });
    assert.deepEqual(await store.insert([{ ...foxpass, message: 'resent' }]), { inserted: 0, duplicates: 1 });
    assert.deepEqual(await store.get('42', 'foxpass'), foxpass);
    assert.deepEqual(await store.get('42', 'blitz'), blitz);
    assert.equal(await store.get('42', 'temporal'), undefined);
    await assert.rejects(store.get('42'), (err: unknown) => {
      assert.ok(err instanceof AmbiguousEventIdError);
      assert.deepEqual(err.sources, ['blitz', 'foxpass']);
      assert.match(err.message, /2 events have id 42, from sources blitz, foxpass: name one with source/);
      return true;
    });
    assert.equal(await store.count(), 2);
    // Same time and id: source breaks the tie, so a page boundary between them loses neither.
    assert.deepEqual(
      (await allPages(store, { limit: 1 })).map((p) => p.map((e) => e.source)),
      [['foxpass'], ['blitz']],
    );
    assert.deepEqual((await store.search({ source: 'blitz' })).events, [blitz]);
  });

  test(`${backend}: the first stored copy of an id wins`, async (t) => {
    const store = await freshStore(t, location);
    await store.insert([makeEvent({ id: 'same', message: 'first' })]);
    await store.insert([makeEvent({ id: 'same', message: 'second' })]);
    assert.equal((await store.get('same'))?.message, 'first');
  });

  test(`${backend}: each filter selects exactly the matching events`, async (t) => {
    const store = await freshStore(t, location);
    const base = { time: '2024-05-01T10:00:00.000Z' };
    await store.insert([
      makeEvent({ ...base, id: 'a', type: 'login', actor: 'alice', outcome: 'success', source: 'blitz', sessionId: 's1', clientIp: '10.0.0.1', message: 'Alice logged in with 50% luck' }),
      makeEvent({ ...base, id: 'b', type: 'login_failed', actor: 'bob', outcome: 'failure', source: 'blitz', sessionId: 's2', clientIp: '10.0.0.2', message: 'Bad password for bob' }),
      makeEvent({ ...base, id: 'c', type: 'ldap.bind', actor: 'alice', outcome: 'failure', source: 'foxpass', sessionId: 's3', clientIp: '10.0.0.1', message: 'bind failed' }),
    ]);
    const search = async (query: SearchQuery) => ids((await store.search(query)).events).sort();
    assert.deepEqual(await search({ type: 'login' }), ['a']);
    assert.deepEqual(await search({ actor: 'alice' }), ['a', 'c']);
    assert.deepEqual(await search({ outcome: 'failure' }), ['b', 'c']);
    assert.deepEqual(await search({ source: 'foxpass' }), ['c']);
    assert.deepEqual(await search({ sessionId: 's2' }), ['b']);
    assert.deepEqual(await search({ clientIp: '10.0.0.1' }), ['a', 'c']);
    assert.deepEqual(await search({ actor: 'alice', outcome: 'failure' }), ['c']);
    // q: case-insensitive substring; wildcard characters match literally.
    assert.deepEqual(await search({ q: 'PASSWORD' }), ['b']);
    assert.deepEqual(await search({ q: '50%' }), ['a']);
    assert.deepEqual(await search({ q: '%' }), ['a']);
    assert.deepEqual(await search({ q: '_' }), []);
    // Every search scans messages with LIKE: the pattern is bounded, and the answer says so.
    await assert.rejects(search({ q: 'x'.repeat(257) }), (err: Error) => err instanceof QueryError && err.parameter === 'q' && /at most 256/.test(err.message));
    assert.deepEqual(await search({ q: 'x'.repeat(256) }), []);
    // Empty strings (an empty form field) filter nothing.
    assert.deepEqual(await search({ actor: '', type: '', q: '' }), ['a', 'b', 'c']);
    assert.deepEqual(await search({ actor: 'nobody' }), []);
  });

  test(`${backend}: a tenant's search and get see only its events; limit and cursor count only those`, async (t) => {
    const store = await freshStore(t, location);
    const acme = eventSeries(5, '2024-05-01T00:00:00.000Z', { tenant: 'acme' });
    const globex = eventSeries(7, '2024-05-01T00:00:00.500Z', { tenant: 'globex' });
    const none = makeEvent({ tenant: undefined });
    // The same id and source stored for two tenants: ambiguous to an admin, not to either tenant.
    const shared = [makeEvent({ id: 'shared', source: 'blitz', tenant: 'acme' }), makeEvent({ id: 'shared', source: 'foxpass', tenant: 'globex' })];
    await store.insert([...acme, ...globex, none, ...shared]);
    const acmePages = await allPages(store, { tenant: 'acme', limit: 2 });
    assert.deepEqual(acmePages.map((p) => p.length), [2, 2, 2], 'six of acme’s events, two a page, no empty page');
    assert.deepEqual(acmePages.flat().map((e) => e.tenant), Array(6).fill('acme'));
    assert.equal((await allPages(store, { tenant: 'globex' })).flat().length, 8);
    assert.equal((await store.get(globex[0]!.id, undefined, 'acme')), undefined);
    assert.equal((await store.get(globex[0]!.id, 'blitz', 'acme')), undefined);
    assert.equal((await store.get(globex[0]!.id, undefined, 'globex'))?.id, globex[0]!.id);
    assert.equal((await store.get('shared', undefined, 'acme'))?.source, 'blitz');
    assert.equal((await store.get('shared', undefined, 'globex'))?.source, 'foxpass');
    await assert.rejects(store.get('shared'), AmbiguousEventIdError);
    assert.equal((await store.get(none.id))?.id, none.id);
    assert.equal(await store.get(none.id, undefined, 'acme'), undefined, 'an event of no tenant is no tenant’s');
  });

  test(`${backend}: a time range includes from and excludes to`, async (t) => {
    const store = await freshStore(t, location);
    await store.insert(eventSeries(10, '2024-05-01T00:00:00.000Z').map((e, i) => ({ ...e, id: `t${i}` })));
    const search = async (query: SearchQuery) => ids((await store.search(query)).events);
    assert.deepEqual(await search({ from: '2024-05-01T00:00:03.000Z', to: '2024-05-01T00:00:06.000Z' }), ['t5', 't4', 't3']);
    assert.deepEqual(await search({ from: '2024-05-01T00:00:08Z' }), ['t9', 't8']);
    assert.deepEqual(await search({ to: '2024-05-01T00:00:02.000Z' }), ['t1', 't0']);
    // Epoch milliseconds are accepted too (what a script computes most easily).
    assert.deepEqual(await search({ from: String(Date.parse('2024-05-01T00:00:09Z')) }), ['t9']);
    assert.deepEqual(await search({ from: '2024-05-01T00:00:06Z', to: '2024-05-01T00:00:06Z' }), []);
  });

  test(`${backend}: results come newest first, ties broken by id descending`, async (t) => {
    const store = await freshStore(t, location);
    const same = '2024-05-01T12:00:00.000Z';
    await store.insert([
      makeEvent({ id: 'm-old', time: '2024-04-30T00:00:00.000Z' }),
      makeEvent({ id: 'm-b', time: same }),
      makeEvent({ id: 'm-new', time: '2024-05-02T00:00:00.000Z' }),
      makeEvent({ id: 'm-a', time: same }),
      makeEvent({ id: 'm-c', time: same }),
    ]);
    assert.deepEqual(ids((await store.search({})).events), ['m-new', 'm-c', 'm-b', 'm-a', 'm-old']);
  });

  test(`${backend}: cursor pagination returns every event exactly once, in order`, async (t) => {
    const store = await freshStore(t, location);
    // Groups of five events share a timestamp, so pages must also split inside a tie.
    const events = Array.from({ length: 250 }, (_, i) =>
      makeEvent({ time: new Date(Date.parse('2024-05-01T00:00:00Z') + Math.floor(i / 5) * 1000).toISOString(), actor: i % 2 ? 'odd' : 'even' }),
    );
    await store.insert(events);
    const pages = await allPages(store, { limit: 100 });
    assert.deepEqual(pages.map((p) => p.length), [100, 100, 50]);
    const seen = pages.flat();
    assert.equal(new Set(ids(seen)).size, 250);
    const expected = [...events].sort((x, y) => (x.time === y.time ? (x.id < y.id ? 1 : -1) : x.time < y.time ? 1 : -1));
    assert.deepEqual(ids(seen), ids(expected));

    // With a filter, and with a page size that divides the matches exactly: no empty trailing page.
    const evenPages = await allPages(store, { actor: 'even', limit: '25' });
    assert.deepEqual(evenPages.map((p) => p.length), [25, 25, 25, 25, 25]);
    assert.ok(evenPages.flat().every((e) => e.actor === 'even'));
    assert.equal(new Set(ids(evenPages.flat())).size, 125);
  });

  test(`${backend}: a page stays within maxBytes as JSON and the cursor goes on exactly where it stopped`, async (t) => {
    const store = await freshStore(t, location);
    // Sizes vary, some share a timestamp, and escaping makes the JSON larger than the stored text.
    const events = Array.from({ length: 40 }, (_, i) =>
      makeEvent({
        time: new Date(Date.parse('2024-05-01T00:00:00Z') + Math.floor(i / 3) * 1000).toISOString(),
        raw: `"${'r\\'.repeat(1000 + ((i * 7919) % 20) * 1000)}"`,
        details: { note: 'd'.repeat((i * 104729) % 30_000) },
      }),
    );
    await store.insert(events);
    const maxBytes = 100_000;
    const answers: SearchPage[] = [];
    const pages = await allPages(store, { limit: 1000 }, { maxBytes }, answers);
    assert.ok(pages.length > 3, `the cap splits the 40 events into pages (got ${pages.length})`);
    for (const answer of answers) {
      assert.ok(answer.events.length >= 1);
      assert.ok(Buffer.byteLength(JSON.stringify(answer)) <= maxBytes, `a page of ${Buffer.byteLength(JSON.stringify(answer))} bytes`);
    }
    const expected = [...events].sort((x, y) => (x.time === y.time ? (x.id < y.id ? 1 : -1) : x.time < y.time ? 1 : -1));
    assert.deepEqual(ids(pages.flat()), ids(expected), 'every event once, in order, nothing skipped or repeated');
    // The cap and limit together: whichever comes first ends the page.
    assert.deepEqual((await store.search({ limit: 2 }, { maxBytes })).events.length, 2);

    // An event larger than the cap still comes, alone on its page, and paging moves past it.
    const huge = makeEvent({ id: 'huge', time: '2024-06-01T00:00:00.000Z', raw: 'h'.repeat(150_000) });
    await store.insert([huge, makeEvent({ id: 'after-huge', time: '2024-05-31T00:00:00.000Z' })]);
    const first = await store.search({}, { maxBytes });
    assert.deepEqual(ids(first.events), ['huge']);
    assert.ok(first.nextCursor);
    assert.deepEqual(ids((await store.search({ cursor: first.nextCursor }, { maxBytes })).events).slice(0, 1), ['after-huge']);
  });

  test(`${backend}: events arriving between pages do not shift or repeat later pages`, async (t) => {
    const store = await freshStore(t, location);
    await store.insert(eventSeries(30, '2024-05-01T00:00:00.000Z'));
    const first = await store.search({ limit: 10 });
    await store.insert(eventSeries(5, '2024-06-01T00:00:00.000Z'));
    const rest = await allPages(store, { limit: 10, cursor: first.nextCursor! });
    const all = [...first.events, ...rest.flat()];
    assert.equal(all.length, 30);
    assert.equal(new Set(ids(all)).size, 30);
  });

  test(`${backend}: bad search parameters are refused naming the parameter`, async (t) => {
    const store = await freshStore(t, location);
    const refused = async (query: SearchQuery, parameter: string) => {
      await assert.rejects(store.search(query), (err: unknown) => {
        assert.ok(err instanceof QueryError, `expected QueryError, got ${String(err)}`);
        assert.equal(err.parameter, parameter);
        assert.match(err.message, new RegExp(`^${parameter}: `));
        return true;
      });
    };
    await refused({ cursor: 'not a cursor!' }, 'cursor');
    await refused({ cursor: Buffer.from('["x","y"]').toString('base64url') }, 'cursor');
    await refused({ cursor: 'AAAA' }, 'cursor');
    await refused({ from: 'yesterday' }, 'from');
    await refused({ to: '2024-13-45T99:00:00Z' }, 'to');
    await refused({ limit: 0 }, 'limit');
    await refused({ limit: 1001 }, 'limit');
    await refused({ limit: '10x' }, 'limit');
    await refused({ outcome: 'ok' }, 'outcome');
    await refused({ actr: 'bob' } as SearchQuery, 'actr');
  });

  test(`${backend}: an event that cannot be stored is refused as invalid, naming it`, async (t) => {
    const store = await freshStore(t, location);
    await assert.rejects(store.insert([makeEvent({ id: 'bad-time', time: 'not a time' })]), (err: unknown) => {
      assert.ok(err instanceof InvalidEventError);
      assert.match(err.message, /bad-time/);
      return true;
    });
    await assert.rejects(store.insert([makeEvent({ details: { n: 1n } })]), InvalidEventError);
    assert.equal(await store.count(), 0);
  });

  test(`${backend}: a batch is one transaction, a refused event stores nothing of it`, async (t) => {
    const store = await freshStore(t, location);
    await assert.rejects(store.insert([makeEvent({ id: 'good' }), makeEvent({ id: 'bad', time: 'garbage' })]), InvalidEventError);
    assert.equal(await store.get('good'), undefined);
  });
}

/**
 * A store made by the release before (id, source) identity (schema version 1,
 * test/store/schema-v1.ts, holding V1_ROWS) opens, migrates and keeps working.
 */
export function migrationFromV1Behaviour(backend: string, v1Location: LocationFactory): void {
  test(`${backend}: a store written by schema version 1 migrates, keeps its events and dedupes on (id, source) from then on`, async (t) => {
    const loc = await v1Location(t);
    const store = loc.open();
    await store.ping();
    assert.deepEqual(await loc.schemaVersions(), loc.latestVersions);
    assert.equal(await store.count(), 2);
    const foxpass42 = await store.get('42');
    assert.deepEqual(
      { id: foxpass42?.id, source: foxpass42?.source, time: foxpass42?.time, details: foxpass42?.details },
      { id: '42', source: 'foxpass', time: '2024-05-01T10:00:00.000Z', details: { dn: 'uid=alice' } },
    );
    // The old events are still found by the search indexes, newest first.
    assert.deepEqual(ids((await store.search({})).events), ['7', '42']);
    assert.deepEqual(ids((await store.search({ actor: 'bob' })).events), ['7']);
    // Foxpass resending its event 42 dedupes; Blitz's own event 42 is now kept beside it.
    assert.deepEqual(await store.insert([makeEvent({ id: '42', source: 'foxpass' })]), { inserted: 0, duplicates: 1 });
    assert.deepEqual(await store.insert([makeEvent({ id: '42', source: 'blitz' })]), { inserted: 1, duplicates: 0 });
    assert.equal((await store.get('42', 'blitz'))?.source, 'blitz');
    assert.equal((await store.get('42', 'foxpass'))?.actor, 'alice');
    await store.close();
    // Reopened, nothing is migrated twice.
    await loc.open().ping();
    assert.deepEqual(await loc.schemaVersions(), loc.latestVersions);
  });
}
