import { OUTCOMES, type AuditEvent } from '../core/event.js';
import { InvalidEventError } from '../core/errors.js';
import { parseTime } from '../core/time.js';
import { isObject } from './fields.js';
import type { ParseContext, Parser, RecordInput } from './parser.js';
import { checkedEventId } from './record-id.js';

const OPTIONAL_STRINGS = ['service', 'actor', 'clientIp', 'sessionId', 'tenant', 'message'] as const;

/**
 * auditstream's own canonical event, as its Kinesis, Kafka, S3 and log
 * emitters write it (codec json). Kept as it is — same id, source, raw — so
 * publisher → stream → collector round-trips and dedupe works across hops.
 */
export const auditstreamParser: Parser = {
  name: 'auditstream',

  detect(value) {
    return (
      isObject(value) &&
      typeof value.id === 'string' &&
      typeof value.time === 'string' &&
      typeof value.type === 'string' &&
      typeof value.source === 'string' &&
      typeof value.raw === 'string' &&
      isObject(value.details) &&
      OUTCOMES.includes(value.outcome as never)
    );
  },

  parse(_input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    if (!auditstreamParser.detect(value, '')) {
      throw new InvalidEventError('not an auditstream event: needs id, time, type, source, outcome, details and raw');
    }
    const v = value as Record<string, unknown>;
    const event: AuditEvent = {
      id: checkedEventId(v.id as string, 'id'),
      time: parseTime(v.time, 'time', ctx.eventTime),
      type: v.type as string,
      source: v.source as string,
      outcome: v.outcome as AuditEvent['outcome'],
      details: v.details as Record<string, unknown>,
      raw: v.raw as string,
    };
    for (const key of OPTIONAL_STRINGS) {
      if (typeof v[key] === 'string') event[key] = v[key] as string;
    }
    if (isObject(v.origin)) event.origin = v.origin as Record<string, string>;
    return [event];
  },
};
