import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newApiKey, parseApiKey, secretMatches } from '../../src/tenants/api-key-secret.js';
import { ControlConflictError } from '../../src/tenants/control-store.js';
import { newExternalId } from '../../src/tenants/external-id.js';
import { SqliteControlStore } from '../../src/tenants/sqlite-control-store.js';
import type { Tenant } from '../../src/tenants/tenant.js';

const quotas = { ingestEventsPerSec: 10, ingestBurst: 20, maxDestinations: 2, maxBacklogBytes: 1 << 20 };
const tenant = (id: string): Tenant => ({ id, name: id.toUpperCase(), externalId: newExternalId(), quotas, createdAt: 't0', updatedAt: 't0' });

test('the control store keeps tenants, keys and destinations across a reopen, private, and deleting a tenant deletes what it owns', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'control-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'control.sqlite');
  let store = new SqliteControlStore(file);
  await store.createTenant(tenant('acme'));
  await store.createTenant(tenant('globex'));
  await assert.rejects(store.createTenant(tenant('acme')), ControlConflictError);
  const k = newApiKey();
  await store.createKey({ id: k.id, tenant: 'acme', name: 'ci', scopes: ['ingest'], secretHash: k.secretHash, createdAt: 't1' });
  await store.createDestination({ tenant: 'acme', name: 'stream', type: 'kinesis', config: { streamName: 's' }, paused: false, createdAt: 't1', updatedAt: 't1' });
  await assert.rejects(
    store.createDestination({ tenant: 'acme', name: 'stream', type: 's3', config: {}, paused: false, createdAt: 't2', updatedAt: 't2' }),
    ControlConflictError,
  );
  await store.close();
  assert.equal(statSync(file).mode & 0o077, 0, 'the control store is readable by its owner only');

  store = new SqliteControlStore(file);
  t.after(() => store.close());
  assert.deepEqual((await store.listTenants()).map((x) => x.id), ['acme', 'globex']);
  const [key] = await store.listKeys('acme');
  assert.equal(key!.id, k.id);
  assert.deepEqual(key!.scopes, ['ingest']);
  assert.ok(secretMatches(parseApiKey(k.key)!.secret, key!.secretHash));
  assert.equal((await store.listKeys('globex')).length, 0);
  assert.equal(await store.deleteKey('globex', k.id), false, 'a key is deleted only through its own tenant');
  assert.equal((await store.getDestination('acme', 'stream'))?.config.streamName, 's');
  assert.equal(await store.getDestination('globex', 'stream'), undefined);

  assert.equal(await store.deleteTenant('acme'), true);
  assert.deepEqual(await store.allKeys(), []);
  assert.deepEqual(await store.allDestinations(), []);
});

test('a key is ask_<id>_<secret>; anything else is not a tenant key, and a wrong secret does not match', () => {
  const k = newApiKey();
  const parsed = parseApiKey(k.key);
  assert.equal(parsed?.id, k.id);
  assert.equal(parseApiKey(`${k.key}x`), undefined);
  assert.equal(parseApiKey('a-config-admin-key-0123456789'), undefined);
  assert.equal(secretMatches('x'.repeat(43), k.secretHash), false);
  assert.ok(newExternalId().length >= 32);
});
