import { z } from 'zod';

/**
 * Most entries of a map of secrets (headers, secureParams). Each is looked
 * for in every error a destination's sink reports (src/tenants/secret-scrubber.ts),
 * so their number bounds that work; no receiver needs more.
 */
export const MAX_SECRET_ENTRIES = 64;

/** A string-to-string map of at most MAX_SECRET_ENTRIES entries. */
export function secretMap<K extends z.ZodType<string>, V extends z.ZodType<string>>(key: K, value: V) {
  return z.record(key, value).refine((m) => Object.keys(m).length <= MAX_SECRET_ENTRIES, `at most ${MAX_SECRET_ENTRIES} entries`);
}
