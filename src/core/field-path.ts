/**
 * The value at a dotted field path in an event or a parsed record, e.g.
 * `actor`, `details.subject_id` or `details.targets.0.id`; undefined when any
 * step is missing. Paths come from config (Kafka key, Kinesis partition key,
 * log layout), so a step only follows an object's own fields: `__proto__`,
 * `constructor` or `toString` name a field the record itself has, never what it
 * inherits from Object.prototype. Arrays are stepped into by index only, so
 * `length` is not a field either.
 */
export function valueAtPath(root: unknown, path: string): unknown {
  let value = root;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value) && !/^(?:0|[1-9]\d*)$/.test(step)) return undefined;
    if (!Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}
