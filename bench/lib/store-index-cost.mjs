/**
 * What each index of the SQLite audit store costs an insert, for the table in
 * docs/audit-store.md: `node bench/lib/store-index-cost.mjs [PREFILL] [TX]`
 * after `npm run build`. A store (schema and indexes as the store makes them)
 * is prefilled with PREFILL of the benchmark's events (1 000 actors, here 20
 * tenants); then 20 000 more go in TX-event transactions, and the WAL pages
 * each transaction wrote are counted, with every index and with each one
 * dropped in turn. The difference is that index's pages per event. Prints
 * each table's and index's size per event (dbstat) first.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROW_COLUMNS, writeFlatRows } from '../../dist/store/event-row.js';
import { openAuditStore } from '../../dist/store/open-store.js';
import { auditEvents } from './events.mjs';

const PREFILL = Number(process.argv[2] ?? 200_000);
const TX = Number(process.argv[3] ?? 5_000);
const MEASURED = 20_000;
const TENANTS = 20;
const INDEXES = ['audit_events_identity', 'audit_events_time', 'audit_events_type_time', 'audit_events_actor_time', 'audit_events_session_time', 'audit_events_tenant_time'];

const events = (from, n) => auditEvents('ix', from, n).map((e, k) => ({ ...e, tenant: `tenant${(from + k) % TENANTS}` }));

/** The writer thread's INSERT; without the identity index there is no conflict target. */
function inserter(db, identity) {
  const width = ROW_COLUMNS.length;
  const insert = db.prepare(
    `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}, received_at) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}, ?)` +
      (identity ? ' ON CONFLICT (id, source) DO NOTHING' : ''),
  );
  return db.transaction((batch) => {
    const flat = new Array(batch.length * width);
    writeFlatRows(batch, 0, batch.length, flat);
    const receivedAt = new Date().toISOString();
    for (let i = 0; i < flat.length; i += width) insert.run(...flat.slice(i, i + width), receivedAt);
  });
}

function open(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Pages written do not depend on fsync; skipping it only makes the run quicker.
  db.pragma('synchronous = OFF');
  db.pragma('wal_autocheckpoint = 0');
  return db;
}

/** WAL pages per event for MEASURED events in TX-event transactions, on a copy of `base` without `drop`. */
function walPagesPerEvent(base, dir, drop) {
  const path = join(dir, 'measured.db');
  rmSync(path, { force: true });
  rmSync(`${path}-wal`, { force: true });
  copyFileSync(base, path);
  const db = open(path);
  if (drop) db.exec(`DROP INDEX ${drop}`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const insert = inserter(db, drop !== 'audit_events_identity');
  let pages = 0;
  for (let i = PREFILL; i < PREFILL + MEASURED; i += TX) {
    insert(events(i, TX));
    pages += db.pragma('wal_checkpoint(PASSIVE)')[0].log;
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  db.close();
  return pages / MEASURED;
}

const dir = mkdtempSync(join(tmpdir(), 'store-index-cost-'));
try {
  const base = join(dir, 'base.db');
  const store = openAuditStore(base, { dataDir: dir });
  await store.ping();
  await store.close();
  const db = open(base);
  const insert = inserter(db, true);
  for (let i = 0; i < PREFILL; i += 5_000) insert(events(i, Math.min(5_000, PREFILL - i)));
  db.pragma('wal_checkpoint(TRUNCATE)');
  console.log(`size per event after ${PREFILL} events (dbstat):`);
  for (const { name, bytes } of db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY name').all()) {
    if (name.startsWith('audit_events')) console.log(`  ${name.padEnd(28)} ${(bytes / PREFILL).toFixed(0)} B`);
  }
  db.close();
  const all = walPagesPerEvent(base, dir, undefined);
  console.log(`WAL pages per event in ${TX}-event transactions: ${all.toFixed(3)} with every index`);
  for (const index of INDEXES) console.log(`  ${index.padEnd(28)} ${(all - walPagesPerEvent(base, dir, index)).toFixed(3)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
