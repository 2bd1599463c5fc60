import { FatalError, RetriableError, errorMessage, isProgrammingError } from '../../core/errors.js';

/** Broker answers that retrying soon will not change: a person must fix the topic, the ACLs or the credentials. */
const FATAL_TYPES = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

/** kafkajs's own errors for the same: bad credentials; SASL (or another API) the broker does not offer. */
const FATAL_NAMES = new Set(['KafkaJSSASLAuthenticationError', 'KafkaJSServerDoesNotSupportApiKey']);

interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  originalError?: unknown;
  cause?: unknown;
  errors?: unknown[];
}

/** Every error kafkajs wrapped (retries exhausted, aggregate per broker), outermost first. */
function chain(err: unknown, seen = new Set<unknown>()): KafkaJsErrorLike[] {
  if (!err || typeof err !== 'object' || seen.has(err)) return [];
  seen.add(err);
  const e = err as KafkaJsErrorLike;
  return [e, ...chain(e.originalError, seen), ...chain(e.cause, seen), ...(e.errors ?? []).flatMap((x) => chain(x, seen))];
}

/**
 * kafkajs failure → the emitter's retry decision. Connection loss, timeouts
 * and leader elections are retriable (events stay queued); authentication,
 * authorization and a missing topic are fatal.
 */
export function classifyKafkaError(err: unknown, what: string): Error {
  if (isProgrammingError(err)) return err as Error;
  const all = chain(err);
  const fatal = all.find((e) => (e.type && FATAL_TYPES.has(e.type)) || (e.name && FATAL_NAMES.has(e.name)));
  const detail = all.map((e) => e.type ?? `${e.name}: ${errorMessage(e)}`).filter((m, i, a) => a.indexOf(m) === i).join(' ← ');
  const message = `${what}: ${detail || errorMessage(err)}`;
  if (fatal) return new FatalError(message, { cause: err, code: `KAFKA_${fatal.type ?? fatal.name}` });
  return new RetriableError(message, { cause: err, code: `KAFKA_${all.find((e) => e.type)?.type ?? 'UNAVAILABLE'}` });
}

/**
 * Broker answers that refuse a request because one message in it is over a
 * size limit, with the setting that sets the limit. Retrying the same request
 * fails the same way every time, so the sink finds the message(s) instead.
 */
const SIZE_LIMITS: Record<string, string> = {
  MESSAGE_TOO_LARGE: "the topic's max.message.bytes (broker default message.max.bytes)",
  RECORD_LIST_TOO_LARGE: "the topic's segment.bytes",
};

/** For an error from classifyKafkaError: the broker's size error and its limit, or undefined for any other error. */
export function sizeLimitError(err: Error): { type: string; limit: string } | undefined {
  if (!(err instanceof FatalError) || !err.code.startsWith('KAFKA_')) return undefined;
  const type = err.code.slice('KAFKA_'.length);
  const limit = SIZE_LIMITS[type];
  return limit ? { type, limit } : undefined;
}
