/**
 * What the SQLite writer thread's work costs in CPU, setting by setting, for
 * docs/audit-store.md: `node bench/lib/store-writer-cost.mjs VARIANT...` after
 * `npm run build`. A store of PREFILL events (default 200 000) is made once per
 * page size and index order and copied for each variant; then MEASURED more
 * (default 40 000) go in TX-event transactions (default 500) as the writer
 * makes them: one prepared INSERT … ON CONFLICT DO NOTHING bound by position
 * from flat rows, synchronous = FULL, a PASSIVE checkpoint every 10 000 events.
 * Rows are built before the clock starts. Prints one JSON line per variant:
 * CPU ms per 1 000 events (user, system), of which checkpoints, and the WAL's size.
 *
 * A variant is `base` or comma-separated settings: cache=N (cache_size),
 * mmap=N (mmap_size), page=N (page_size of the new file), cp=N (events between
 * checkpoints), ckmb=N (checkpoint once the WAL holds N MiB instead),
 * multi=N (N rows per INSERT statement), sync=NORMAL|FULL|OFF, desc=1 (the
 * search indexes in descending order, as schema versions 1 to 3 made them).
 * Environment: PREFILL, MEASURED, TX. Run variants interleaved (base, x, base,
 * x): the machine's load moves every figure.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROW_COLUMNS, writeFlatRows } from '../../dist/store/event-row.js';
import { migrate } from '../../dist/store/sqlite-schema.js';
import { auditEvents } from './events.mjs';

const PREFILL = Number(process.env.PREFILL ?? 200_000);
const MEASURED = Number(process.env.MEASURED ?? 40_000);
const TX = Number(process.env.TX ?? 500);
const WIDTH = ROW_COLUMNS.length;
// Prefilled databases are kept between runs; in the repository's ignored results, private, not a shared /tmp name
// where another local user could plant the files this removes and copies.
const dir = join(import.meta.dirname, '..', 'results', 'store-writer-cost');
mkdirSync(dir, { recursive: true, mode: 0o700 });

/** The search indexes as schema versions 1 to 3 made them. */
const DESCENDING = ['time', 'type', 'actor', 'session', 'tenant']
  .map((name) => {
    const lead = { time: '', type: 'type, ', actor: 'actor, ', session: 'session_id, ', tenant: 'tenant, ' }[name];
    return `DROP INDEX audit_events_${name === 'time' ? 'time' : `${name}_time`}; CREATE INDEX audit_events_${name === 'time' ? 'time' : `${name}_time`} ON audit_events (${lead}time_ms DESC, id DESC, source DESC);`;
  })
  .join('\n');

function flatRows(prefix, from, n) {
  const flat = new Array(n * WIDTH);
  writeFlatRows(auditEvents(prefix, from, n), 0, n, flat);
  return flat;
}

/** The prefilled store for a page size and index order, made on first use and kept in `dir`. */
function prefilled(page, desc) {
  const path = join(dir, `prefill-${PREFILL}-${page}${desc ? '-desc' : ''}.db`);
  if (existsSync(path)) return path;
  const db = new Database(path);
  db.pragma(`page_size = ${page}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  migrate(db, path);
  if (desc) db.exec(DESCENDING);
  const insert = db.prepare(`INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}, received_at) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}, ?)`);
  const fill = db.transaction((flat, receivedAt) => {
    for (let i = 0; i < flat.length; i += WIDTH) insert.run(...flat.slice(i, i + WIDTH), receivedAt);
  });
  for (let i = 0; i < PREFILL; i += 5_000) fill(flatRows('pre', i, Math.min(5_000, PREFILL - i)), new Date().toISOString());
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path;
}

function run(variant) {
  const o = Object.fromEntries(variant === 'base' ? [] : variant.split(',').map((kv) => kv.split('=')));
  const page = Number(o.page ?? 4096);
  const every = Number(o.cp ?? 10_000);
  const multi = Number(o.multi ?? 1);
  const path = join(dir, 'measured.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(prefilled(page, o.desc === '1'), path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${o.sync ?? 'FULL'}`);
  db.pragma('wal_autocheckpoint = 0');
  if (o.cache) db.pragma(`cache_size = ${o.cache}`);
  if (o.mmap) db.pragma(`mmap_size = ${o.mmap}`);
  const columns = [...ROW_COLUMNS, 'received_at'];
  const row = `(${columns.map(() => '?').join(', ')})`;
  const statement = (rows) => db.prepare(`INSERT INTO audit_events (${columns.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')} ON CONFLICT (id, source) DO NOTHING`);
  const one = statement(1);
  const many = multi > 1 ? statement(multi) : undefined;
  const oneValues = new Array(WIDTH + 1);
  const manyValues = new Array((WIDTH + 1) * multi);
  const transaction = db.transaction((flat, receivedAt) => {
    const rows = flat.length / WIDTH;
    let at = 0;
    let done = 0;
    if (many) {
      for (; done + multi <= rows; done += multi) {
        let v = 0;
        for (let k = 0; k < multi; k++) {
          for (let c = 0; c < WIDTH; c++) manyValues[v++] = flat[at++];
          manyValues[v++] = receivedAt;
        }
        many.run(manyValues);
      }
    }
    oneValues[WIDTH] = receivedAt;
    for (; done < rows; done++) {
      for (let c = 0; c < WIDTH; c++) oneValues[c] = flat[at++];
      one.run(oneValues);
    }
  });
  const batches = [];
  for (let i = 0; i < MEASURED; i += TX) batches.push(flatRows('m', PREFILL + i, TX));
  // One untimed transaction first: the statements' and the cache's first use.
  transaction(flatRows('warm', 10 * PREFILL, TX), new Date().toISOString());
  let since = 0;
  let checkpointMicros = 0;
  const cpu0 = process.cpuUsage();
  for (const batch of batches) {
    transaction(batch, new Date().toISOString());
    since += TX;
    const due = o.ckmb ? db.pragma('wal_checkpoint(NOOP)')[0].log * page >= Number(o.ckmb) * 1_048_576 : since >= every;
    if (due) {
      since = 0;
      const c0 = process.cpuUsage();
      db.pragma('wal_checkpoint(PASSIVE)');
      const c = process.cpuUsage(c0);
      checkpointMicros += c.user + c.system;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const walBytes = statSync(`${path}-wal`).size;
  db.close();
  const per1k = (micros) => Number((micros / MEASURED).toFixed(2));
  console.log(
    JSON.stringify({ variant, tx: TX, cpuMsPer1k: per1k(cpu.user + cpu.system), userMsPer1k: per1k(cpu.user), systemMsPer1k: per1k(cpu.system), checkpointMsPer1k: per1k(checkpointMicros), walMiB: Number((walBytes / 1_048_576).toFixed(1)) }),
  );
}

for (const variant of process.argv.slice(2)) run(variant);
