import { appendFileSync, closeSync, existsSync, fdatasyncSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makePrivateDirSync, preparePrivateFile, syncDirectorySync } from '../core/private-files.js';

export interface DeadLetter {
  reason: string;
  attempts: number;
  /** The queued payload as it was: the event JSON, or the bytes that could not be read. */
  payload: Buffer;
  eventId: string;
}

/** The dead-letter file of a config file's emitter (a tenant's destinations have theirs under dead-letter/tenants/). */
export function emitterDeadLetterPath(dataDir: string, emitter: string): string {
  return join(dataDir, 'dead-letter', `${emitter}.ndjson`);
}

/**
 * An emitter's dead-letter file: NDJSON, one line per event that can never be
 * delivered as it is, with the reason. Written and fsync'd before the event
 * leaves the queue, so a dead-lettered event is moved, never lost.
 */
export class DeadLetterFile {
  private count = 0;
  /** An existing file (an older version's) is narrowed to 0600 at the first write; a new one is created 0600. */
  private prepared = false;
  constructor(
    readonly file: string,
    private readonly emitter: string,
  ) {}

  write(entries: readonly DeadLetter[]): void {
    if (entries.length === 0) return;
    const created = !existsSync(this.file);
    const madeDirs = created ? makePrivateDirSync(dirname(this.file)) : [];
    if (created || !this.prepared) {
      preparePrivateFile(this.file);
      this.prepared = true;
    }
    const time = new Date().toISOString();
    const lines = entries.map((e) => {
      const text = e.payload.toString('utf8');
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch {
        event = undefined;
      }
      return JSON.stringify({
        time,
        emitter: this.emitter,
        eventId: e.eventId,
        reason: e.reason,
        attempts: e.attempts,
        ...(event !== undefined ? { event } : { payloadBase64: e.payload.toString('base64') }),
      });
    });
    const fd = openSync(this.file, 'a');
    try {
      appendFileSync(fd, lines.join('\n') + '\n');
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // A new file's name lives in its directory, and a new directory's in its parent (a tenant's
    // dead-letter/tenants/<tenant>/ made for this file): sync them too, or a power loss could lose
    // the file while the journal's release of the same events survives.
    if (created) for (const dir of new Set([dirname(this.file), ...madeDirs.map((d) => dirname(d))])) syncDirectorySync(dir);
    this.count += entries.length;
  }

  get written(): number {
    return this.count;
  }
}
