import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { newApiKey, parseApiKey, secretMatches } from '../../src/tenants/api-key-secret.js';
import { ControlConflictError, type ControlStore } from '../../src/tenants/control-store.js';
import { newExternalId } from '../../src/tenants/external-id.js';
import { PostgresControlStore } from '../../src/tenants/postgres-control-store.js';
import { SqliteControlStore } from '../../src/tenants/sqlite-control-store.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { createPgDatabase, queryPg } from '../support/pg-database.js';
import { tempDir } from '../support/temp.js';

/** A place a control store lives: `open` may be called again to reopen the same data. */
type Backend = (t: TestContext) => Promise<{ open(): Promise<ControlStore> }>;

const BACKENDS: Record<string, Backend> = {
  sqlite: async (t) => {
    const file = join(await tempDir(t, 'control-'), 'control.sqlite');
    return { open: async () => new SqliteControlStore(file) };
  },
  postgres: async (t) => {
    const db = await createPgDatabase(t);
    return { open: async () => db.own(await PostgresControlStore.open(db.url)) };
  },
};

const quotas = { ingestEventsPerSec: 10, ingestBurst: 20, maxDestinations: 2, maxBacklogBytes: 1 << 20 };
const tenant = (id: string): Tenant => ({ id, name: id.toUpperCase(), externalId: newExternalId(), quotas, createdAt: 't0', updatedAt: 't0' });

for (const [backend, location] of Object.entries(BACKENDS)) {
  test(`${backend} control store: tenants, keys and destinations survive a reopen; names are unique; every call stays in its tenant`, async (t) => {
    const place = await location(t);
    let store = await place.open();
    await store.createTenant(tenant('acme'));
    await store.createTenant(tenant('globex'));
    await assert.rejects(store.createTenant(tenant('acme')), ControlConflictError);
    const k = newApiKey();
    await store.createKey({ id: k.id, tenant: 'acme', name: 'ci', scopes: ['ingest', 'read'], secretHash: k.secretHash, createdAt: 't1' });
    await assert.rejects(store.createKey({ id: k.id, tenant: 'globex', name: 'dup', scopes: ['read'], secretHash: k.secretHash, createdAt: 't1' }), ControlConflictError);
    await store.createDestination({ tenant: 'acme', name: 'stream', type: 'kinesis', config: { streamName: 's', nested: { a: [1] } }, paused: false, createdAt: 't1', updatedAt: 't1' });
    await store.createDestination({ tenant: 'globex', name: 'stream', type: 's3', config: { bucket: 'b' }, paused: true, createdAt: 't1', updatedAt: 't1' });
    await assert.rejects(
      store.createDestination({ tenant: 'acme', name: 'stream', type: 's3', config: {}, paused: false, createdAt: 't2', updatedAt: 't2' }),
      ControlConflictError,
    );
    await store.close();

    store = await place.open();
    t.after(() => store.close());
    const tenants = await store.listTenants();
    assert.deepEqual(tenants.map((x) => x.id), ['acme', 'globex']);
    assert.deepEqual(tenants[0]!.quotas, quotas);
    assert.equal((await store.getTenant('acme'))?.name, 'ACME');
    assert.equal(await store.getTenant('initech'), undefined);

    assert.equal(await store.updateTenant({ ...tenants[0]!, name: 'Acme Corp', quotas: { ...quotas, ingestBurst: 5 }, updatedAt: 't3' }), true);
    assert.deepEqual(await store.getTenant('acme'), { ...tenants[0]!, name: 'Acme Corp', quotas: { ...quotas, ingestBurst: 5 }, updatedAt: 't3' });
    assert.equal(await store.updateTenant(tenant('initech')), false);

    const [key] = await store.listKeys('acme');
    assert.deepEqual({ ...key!, secretHash: undefined }, { id: k.id, tenant: 'acme', name: 'ci', scopes: ['ingest', 'read'], secretHash: undefined, createdAt: 't1' });
    assert.ok(secretMatches(parseApiKey(k.key)!.secret, key!.secretHash));
    assert.deepEqual((await store.allKeys()).map((x) => x.id), [k.id]);
    assert.deepEqual(await store.listKeys('globex'), []);
    assert.equal(await store.deleteKey('globex', k.id), false, 'a key is deleted only through its own tenant');

    assert.deepEqual((await store.getDestination('acme', 'stream'))?.config, { streamName: 's', nested: { a: [1] } });
    assert.equal((await store.getDestination('globex', 'stream'))?.paused, true);
    assert.deepEqual((await store.allDestinations()).map((d) => `${d.tenant}/${d.name}`), ['acme/stream', 'globex/stream']);
    const acmeStream = (await store.getDestination('acme', 'stream'))!;
    assert.equal(await store.updateDestination({ ...acmeStream, paused: true, config: { streamName: 't' }, updatedAt: 't4' }), true);
    assert.deepEqual(await store.getDestination('acme', 'stream'), { ...acmeStream, paused: true, config: { streamName: 't' }, updatedAt: 't4' });
    assert.equal(await store.updateDestination({ ...acmeStream, tenant: 'initech' }), false);
    assert.equal(await store.deleteDestination('acme', 'nope'), false);

    assert.equal(await store.deleteTenant('acme'), true);
    assert.equal(await store.deleteTenant('acme'), false);
    assert.deepEqual(await store.allKeys(), [], "deleting a tenant deletes its keys");
    assert.deepEqual((await store.allDestinations()).map((d) => d.tenant), ['globex'], 'and its destinations, no one else’s');
    assert.equal(await store.deleteDestination('globex', 'stream'), true);
    assert.deepEqual(await store.listDestinations('globex'), []);
  });
}

test('postgres control store: several nodes opening one new database migrate it once, beside an audit store', async (t) => {
  const db = await createPgDatabase(t);
  // The audit store's own migrations table must not be mistaken for the control store's.
  await queryPg(db.url, 'CREATE TABLE schema_migrations (version integer PRIMARY KEY, description text NOT NULL)');
  await queryPg(db.url, "INSERT INTO schema_migrations VALUES (1, 'audit'), (2, 'audit'), (3, 'audit')");
  const stores = await Promise.all(Array.from({ length: 4 }, async () => db.own(await PostgresControlStore.open(db.url))));
  await stores[0]!.createTenant(tenant('acme'));
  assert.deepEqual((await stores[3]!.listTenants()).map((x) => x.id), ['acme']);
  const rows = await queryPg<{ version: number }>(db.url, 'SELECT version FROM control_schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => r.version), [1]);
});

test('postgres control store: a database of a newer release is refused, naming the versions', async (t) => {
  const db = await createPgDatabase(t);
  db.own(await PostgresControlStore.open(db.url));
  await queryPg(db.url, "INSERT INTO control_schema_migrations (version, description) VALUES (99, 'from the future')");
  await assert.rejects(PostgresControlStore.open(db.url), /schema version 99, newer than this release knows \(1\)/);
});
