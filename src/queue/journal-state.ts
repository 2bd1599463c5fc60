import Database from 'better-sqlite3';
import { openPrivateDatabase } from '../core/private-database.js';

/** Where one destination stands in the journal. */
export interface DestinationPosition {
  /** Every event of this destination with seq ≤ this is done. */
  ackedThrough: number;
  /** Events above `ackedThrough` done out of order (a partly delivered batch). */
  doneAbove: number[];
}

/**
 * The destinations' positions: one small SQLite file, one row per
 * destination that ever acknowledged something or was removed. synchronous=NORMAL: a position
 * update lost in a power cut only means those events are delivered again
 * (at-least-once, stores dedupe by id); it can never lose an event, because
 * events are only ever on disk before their position moves past them.
 */
export class JournalState {
  private readonly db: Database.Database;
  private readonly upsert;

  constructor(file: string) {
    this.db = openPrivateDatabase(file, {
      synchronous: 'NORMAL',
      schema: 'CREATE TABLE IF NOT EXISTS destinations (id TEXT PRIMARY KEY, acked_through INTEGER NOT NULL, done_above TEXT NOT NULL) WITHOUT ROWID',
    });
    this.upsert = this.db.prepare(
      'INSERT INTO destinations (id, acked_through, done_above) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET acked_through = excluded.acked_through, done_above = excluded.done_above',
    );
  }

  load(): Map<string, DestinationPosition> {
    const rows = this.db.prepare('SELECT id, acked_through, done_above FROM destinations').all() as { id: string; acked_through: number; done_above: string }[];
    return new Map(rows.map((r) => [r.id, { ackedThrough: r.acked_through, doneAbove: JSON.parse(r.done_above) as number[] }]));
  }

  /** Writes every given position in one transaction (one commit for all destinations acknowledged in a turn). */
  save(positions: ReadonlyMap<string, DestinationPosition>): void {
    this.db.transaction(() => {
      for (const [id, p] of positions) this.upsert.run(id, p.ackedThrough, JSON.stringify(p.doneAbove));
    })();
  }

  close(): void {
    this.db.close();
  }
}
