import type { Bindings, Logger } from 'pino';

/**
 * A child of `logger` for a tenant destination's sink, whose every message and
 * every string of its fields (nested ones, an error's message, stack and
 * cause included) passes through `scrub`, the destination's secret scrubber;
 * so do the bindings of the loggers the sink makes from it. A sink logs what
 * its libraries say (kafkajs what a broker answered, the AWS SDK what a
 * service did) without knowing which of its config's keys are secrets.
 */
export function scrubbingLogger(logger: Logger, bindings: Bindings, scrub: (text: string) => string): Logger {
  const scrubbed = (value: unknown) => scrubValue(value, scrub, new Set());
  // pino passes the formatted message (after any %s arguments) through the serializer of its key; the fields through formatters.log.
  // This formatters.log replaces the parent's: the server's root logger has none.
  const child = logger.child(bindings, { formatters: { log: (fields) => scrubbed(fields) as object }, serializers: { msg: scrubbed } });
  // A child logger the sink makes inherits both, but pino writes its bindings out once, when it is made: scrubbed here.
  const makeChild = child.child;
  child.child = function (this: Logger, more: Bindings, options?: object) {
    return makeChild.call(this, scrubbed(more) as Bindings, options);
  } as Logger['child'];
  return child;
}

/**
 * `value` as pino would write it, with each string scrubbed. Errors stay
 * errors (of their own class, for pino's err serializer), with their own
 * properties, enumerable or not, scrubbed; an object with toJSON (a URL) is
 * what toJSON gives. A cycle is cut: left as it was, pino would write the
 * original object's strings.
 */
function scrubValue(value: unknown, scrub: (text: string) => string, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return scrub(value);
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[Circular]';
  ancestors.add(value);
  try {
    if (value instanceof Error) {
      const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
      for (const key of Object.getOwnPropertyNames(value)) {
        const { enumerable } = Object.getOwnPropertyDescriptor(value, key)!;
        Object.defineProperty(copy, key, { value: scrubValue((value as unknown as Record<string, unknown>)[key], scrub, ancestors), enumerable, writable: true, configurable: true });
      }
      return copy;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return scrubValue(toJSON.call(value), scrub, ancestors);
    if (Array.isArray(value)) return value.map((v) => scrubValue(v, scrub, ancestors));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrub(k), scrubValue(v, scrub, ancestors)]));
  } finally {
    ancestors.delete(value);
  }
}
