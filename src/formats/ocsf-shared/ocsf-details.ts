/** Reading an event's details into OCSF attributes, shared by the codec and each producer's mapping. */
import { isIP } from 'node:net';
import type { AuditEvent } from '../../core/event.js';

export type Obj = Record<string, unknown>;

/**
 * The event's details while a mapping reads them: a field an OCSF attribute
 * holds whole is taken out, the rest ends in `unmapped`.
 */
export class Details {
  readonly rest: Obj;

  constructor(details: Obj) {
    this.rest = { ...details };
  }

  get(key: string): unknown {
    return Object.hasOwn(this.rest, key) ? this.rest[key] : undefined;
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  takeString(key: string): string | undefined {
    return this.taken(key, this.string(key));
  }

  takeNumber(key: string): number | undefined {
    const v = this.get(key);
    return this.taken(key, typeof v === 'number' ? v : undefined);
  }

  taken<T>(key: string, value: T | undefined): T | undefined {
    if (value !== undefined) delete this.rest[key];
    return value;
  }
}

/** The event's clientIp when it is an IP address, which is all OCSF's `ip` attributes take. */
export function clientIpAddress(e: AuditEvent): string | undefined {
  return e.clientIp !== undefined && isIP(e.clientIp) !== 0 ? e.clientIp : undefined;
}

export function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function objectOr(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** The object without its undefined members; undefined when none is left, so empty objects are not written. */
export function compact(o: Obj): Obj | undefined {
  // fromEntries defines own fields: assigning a "__proto__" detail would drop it from unmapped.
  const out: Obj = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(out).length > 0 ? out : undefined;
}
