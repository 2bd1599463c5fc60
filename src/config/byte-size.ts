import { z } from 'zod';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** Reads "5GB", "512MiB", "1048576" or a number as bytes; null when unreadable. */
export function parseByteSize(value: number | string): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return null;
  const unit = UNITS[(m[2] || 'b').toLowerCase()];
  return unit === undefined ? null : Math.floor(Number(m[1]) * unit);
}

/** A zod schema for a byte size written as a number or "5GB" / "512MiB". */
export const byteSize = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseByteSize(v);
  if (n === null) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${JSON.stringify(v)} as a size (use bytes or e.g. "512MiB", "5GB")` });
    return z.NEVER;
  }
  return n;
});

/** A size that must leave room for something: 0 bytes would refuse everything, forever. */
export const positiveByteSize = byteSize.pipe(z.number().positive('must be more than 0 bytes'));
