/**
 * How an AuditEvent becomes the bytes of one record or line, for every
 * emitter that takes a `codec` key. The emitter adds its own separator
 * (Kinesis and S3 a newline, Kafka none).
 */
import { z } from 'zod';
import { eventJson } from '../core/component-metrics.js';
import type { AuditEvent } from '../core/event.js';
import { toOcsf } from './ocsf.js';

export const CODEC_NAMES = ['json', 'raw', 'ocsf'] as const;

export type Codec = (typeof CODEC_NAMES)[number];

/**
 * `json`: the canonical event; `raw`: the producer's own record (event.raw);
 * `ocsf`: the event as an OCSF 1.1 event (docs/codecs.md).
 */
export const codecSchema = z.enum(CODEC_NAMES).default('json');

/** One event as text, without a trailing line break. */
export function encodeEvent(event: AuditEvent, codec: Codec): string {
  switch (codec) {
    case 'json':
      // The journal's bytes when the event came from there: no second serialisation per destination.
      return eventJson(event).toString('utf8');
    case 'raw':
      // A record read from a line-based transport may still carry its terminator; the emitter adds its own.
      return event.raw.replace(/[\r\n]+$/, '');
    case 'ocsf':
      return JSON.stringify(toOcsf(event));
  }
}
