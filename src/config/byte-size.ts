import { z } from 'zod';

/**
 * One meaning for every size key: KB, MB, GB and TB are powers of 1024, the
 * same as KiB, MiB, GiB and TiB. That is how logback reads them, so a log
 * emitter's `totalSizeCap: 5GB` copied from a logback config keeps exactly the
 * archives it kept there (read as 5·10⁹ it would delete about 7% earlier).
 */
const UNITS: Record<string, number> = {
  b: 1,
  kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/**
 * A size as text: a number with an optional unit of UNITS, in any case. Written
 * without regex flags so that the JSON Schema `pattern` of size keys is this
 * same expression, and an editor accepts exactly the sizes the server reads.
 */
const BYTE_SIZE_TEXT = /^\s*(\d+(?:\.\d+)?)\s*([bB]|[kKmMgGtT][iI]?[bB])?\s*$/;

/** Reads "5GB", "512MiB", "1048576" or a number as bytes; null when unreadable. */
export function parseByteSize(value: number | string): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : null;
  const m = BYTE_SIZE_TEXT.exec(value);
  if (!m) return null;
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

/** A zod schema for a byte size written as a number or "5GB" / "512MiB". */
export const byteSize = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const n = parseByteSize(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${JSON.stringify(v)} as a size (use bytes or e.g. "512MiB", "5GB")` });
      return z.NEVER;
    }
    return n;
  })
  // What `auditstream config schema` shows for every size key: the transform itself has no JSON Schema form.
  .meta({ description: 'bytes, or a number with a unit: B, KB or KiB (1024 bytes), MB or MiB (1024²), GB or GiB (1024³), TB or TiB (1024⁴); any case', minimum: 0, pattern: BYTE_SIZE_TEXT.source });

/** A size that must leave room for something: 0 bytes would refuse everything, forever. */
export const positiveByteSize = byteSize.pipe(z.number().positive('must be more than 0 bytes')).meta({ exclusiveMinimum: 0 });
