import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

/** Written instead of what could not be read (a throwing getter or toJSON, a revoked proxy): a log call must not throw where plain pino would not. */
const UNSERIALIZABLE = '[unserializable]';

/**
 * pino's own defaults (its depthLimit and edgeLimit): what it writes of a
 * value JSON.stringify refuses. A sink's library may hand over an object
 * deep enough to overflow the stack of a recursive copy.
 */
const MAX_DEPTH = 5;
const MAX_BREADTH = 100;

type Scrub = (text: string) => string;

/**
 * A child of `logger` for a tenant destination's sink, whose every message and
 * every string of its fields (nested ones, an error's message, stack and
 * cause included) passes through `scrub`, the destination's secret scrubber;
 * so do the bindings of the loggers the sink makes from it, those it sets
 * with setBindings, and what their own formatters and serializers give. A
 * sink logs what its libraries say (kafkajs what a broker answered, the AWS
 * SDK what a service did) without knowing which of its config's keys are
 * secrets. A log call never throws (a throw in kafkajs's logCreator or a
 * socket callback would take the server down): what cannot be read is
 * written as '[unserializable]'.
 */
export function scrubbingLogger(logger: Logger, bindings: Bindings, scrub: Scrub): Logger {
  const scrubbed = (value: unknown) => scrubSafely(value, scrub);
  const scrubbedFields = (fields: object) => fieldsOf(scrubbed(fields));
  // pino passes the formatted message (after any %s arguments and msgPrefix) through the serializer of its key; the fields through formatters.log.
  // This formatters.log replaces the parent's: the server's root logger has none.
  const child = logger.child(bindings, { formatters: { log: scrubbedFields }, serializers: { msg: scrubbed } });
  // A logger the sink makes from it has it as prototype, so inherits these two; pino writes bindings out once, when given: scrubbed here.
  const makeChild = child.child;
  child.child = function (this: Logger, more: Bindings, options?: object) {
    return makeChild.call(this, scrubbedFields(more), options && (scrubbedAfterOwn(options as ChildLoggerOptions, scrubbed) as object));
  } as Logger['child'];
  const setBindings = child.setBindings;
  child.setBindings = function (this: Logger, more: Bindings) {
    setBindings.call(this, scrubbedFields(more));
  };
  return child;
}

/** A child's own formatters.log and serializers would replace the scrubbing ones: each is followed by a scrub instead. */
function scrubbedAfterOwn(options: ChildLoggerOptions, scrubbed: (value: unknown) => unknown): ChildLoggerOptions {
  const after = (own: (value: any) => unknown) => (value: unknown) => {
    try {
      return scrubbed(own(value));
    } catch {
      return UNSERIALIZABLE;
    }
  };
  const { formatters, serializers } = options;
  const copy: ChildLoggerOptions = { ...options };
  if (formatters) {
    copy.formatters = { ...formatters };
    if (formatters.log) copy.formatters.log = (fields) => fieldsOf(after(formatters.log!)(fields));
    if (formatters.bindings) copy.formatters.bindings = (bindings) => fieldsOf(after(formatters.bindings!)(bindings));
  }
  if (serializers) {
    copy.serializers = {};
    for (const key of Reflect.ownKeys(serializers) as string[]) copy.serializers[key] = after(serializers[key]!);
  }
  return copy;
}

/** pino walks what formatters.log gives with for…in: a string would become one field per character. */
function fieldsOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { fields: UNSERIALIZABLE };
}

function scrubSafely(value: unknown, scrub: Scrub): unknown {
  try {
    // The fields object is not a level of its own: pino stringifies each field's value on its own.
    return scrubValue(value, scrub, new Set(), -1);
  } catch {
    return UNSERIALIZABLE;
  }
}

/**
 * `value` as pino would write it, with each string scrubbed. An object with
 * toJSON (a URL) is what toJSON gives; a Buffer or typed array is its length
 * (its bytes, written as numbers, would spell the secret). A cycle is cut:
 * left as it was, pino would write the original object's strings. Past
 * MAX_DEPTH an object is '[Object]', past MAX_BREADTH its entries are counted.
 */
function scrubValue(value: unknown, scrub: Scrub, ancestors: Set<object>, depth: number, callToJSON = true): unknown {
  if (typeof value === 'string') return scrub(value);
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[Circular]';
  if (depth > MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]';
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  ancestors.add(value);
  try {
    const inner = (v: unknown) => scrubValue(v, scrub, ancestors, depth + 1);
    if (value instanceof Error) return errorFields(value, scrub, inner);
    const toJSON = callToJSON ? read(value, 'toJSON') : undefined;
    if (typeof toJSON === 'function') {
      let json: unknown;
      try {
        json = toJSON.call(value);
      } catch {
        return UNSERIALIZABLE;
      }
      // As JSON.stringify: what toJSON gives is written as it is, its own toJSON not called (one returning `this` is no cycle).
      if (json !== value) return scrubValue(json, scrub, ancestors, depth, false);
    }
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_BREADTH).map(inner);
      if (value.length > MAX_BREADTH) items.push(`... ${value.length - MAX_BREADTH} more items`);
      return items;
    }
    const keys = Object.keys(value);
    const copy: Record<string, unknown> = {};
    for (const key of keys.slice(0, MAX_BREADTH)) {
      const field = read(value, key);
      // JSON leaves functions out; a toJSON copied here would be called on the copy, its result not scrubbed.
      if (typeof field !== 'function') copy[scrub(key)] = inner(field);
    }
    if (keys.length > MAX_BREADTH) copy['...'] = `${keys.length - MAX_BREADTH} more keys`;
    return copy;
  } catch {
    return UNSERIALIZABLE;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * An error as a plain object of what pino's err serializer reads: name (its
 * type), message, stack, cause, errors (an AggregateError's, as Node's
 * connect gives) and every enumerable property, own or inherited. A copy of
 * its own class would run the class's getters on the copy, which throw (a
 * DOMException's, a #private one's). The prototype is null so the serializer
 * types it by name rather than by the constructor Object; name is not
 * enumerable, as on an error, so it is not written twice.
 */
function errorFields(error: Error, scrub: Scrub, inner: (value: unknown) => unknown): Record<string, unknown> {
  const copy = Object.create(null) as Record<string, unknown>;
  const constructor = read(error, 'constructor');
  const type = typeof constructor === 'function' ? read(constructor, 'name') : read(error, 'name');
  Object.defineProperty(copy, 'name', { value: typeof type === 'string' ? scrub(type) : 'Error', enumerable: false });
  const message = inner(read(error, 'message'));
  copy.message = typeof message === 'string' ? message : UNSERIALIZABLE;
  copy.stack = inner(read(error, 'stack'));
  if ('cause' in error) copy.cause = inner(read(error, 'cause'));
  const errors = read(error, 'errors');
  if (Array.isArray(errors)) Object.defineProperty(copy, 'errors', { value: inner(errors), enumerable: false });
  for (const key in error) {
    if (!(key in copy)) copy[scrub(key)] = inner(read(error, key));
  }
  return copy;
}

function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return UNSERIALIZABLE;
  }
}
