import { z } from 'zod';
import { InvalidEventError } from '../core/errors.js';
import { DEFAULT_EVENT_TIME_BOUNDS, parseTimeMs, type EventTimeBounds } from '../core/time.js';
import { byteSize } from './byte-size.js';

/**
 * The keys every emitter has, whatever its type (seed 002's emitter block plus
 * queue/retry/batch). The sink's own keys are validated by its definition,
 * strictly, after these are removed.
 */
export const emitterCommonSchema = z.looseObject({
  type: z.string().min(1),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-" (at most 64)')
    .optional(),
  enabled: z.boolean().default(true),
  include: z.array(z.string().min(1)).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  queue: z
    .strictObject({
      maxBytes: byteSize.default(1024 ** 3),
      whenFull: z.enum(['block', 'dropOldest']).default('block'),
    })
    .prefault({}),
  retry: z
    .strictObject({
      initialBackoffMs: z.number().int().positive().default(200),
      maxBackoffMs: z.number().int().positive().default(60_000),
    })
    .prefault({}),
  batch: z
    .strictObject({
      maxEvents: z.number().int().positive().optional(),
      maxBytes: byteSize.optional(),
      lingerMs: z.number().int().nonnegative().optional(),
    })
    .optional(),
});

export const COMMON_EMITTER_KEYS = ['type', 'name', 'enabled', 'include', 'exclude', 'queue', 'retry', 'batch'] as const;

export type EmitterCommonConfig = z.output<typeof emitterCommonSchema>;

const DEFAULT_EMITTERS = [
  { type: 'log', name: 'log' },
  { type: 'audit-store', name: 'audit-store' },
];

/** A time written as events' times are (ISO 8601 with an offset, epoch seconds or ms), as epoch ms. */
const instant = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseTimeMs(v, 'time');
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message.replace(/^time: /, '') });
    return z.NEVER;
  }
});

/** `audit.eventTime`, the window every event's time must fall in, on every path that reads events. */
const eventTimeSchema = z
  .strictObject({
    notBefore: instant.default(DEFAULT_EVENT_TIME_BOUNDS.notBeforeMs).refine((ms) => ms < Date.now(), 'must be in the past, or no event could be accepted'),
    maxAheadSec: z.number().int().nonnegative().default(DEFAULT_EVENT_TIME_BOUNDS.maxAheadSec),
  })
  .prefault({})
  .transform((t): EventTimeBounds => ({ notBeforeMs: t.notBefore, maxAheadSec: t.maxAheadSec }));

const limitsDefaults = { maxBodyBytes: 5 * 1024 * 1024, maxEventBytes: 1024 * 1024 };
const serverDefaults = { listen: '127.0.0.1:8080' };

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('./auditstream-data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  server: z
    .strictObject({
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:8080')
        .default(serverDefaults.listen),
      apiKeys: z.array(z.string().min(16, 'an API key must be at least 16 characters')).default([]),
      limits: z
        .strictObject({
          maxBodyBytes: byteSize.default(limitsDefaults.maxBodyBytes),
          maxEventBytes: byteSize.default(limitsDefaults.maxEventBytes),
        })
        .prefault({}),
      shutdownTimeoutSec: z.number().positive().default(30),
    })
    .prefault({}),
  sources: z.array(z.looseObject({ type: z.string().min(1), name: z.string().min(1).optional() })).default([]),
  audit: z
    .strictObject({
      emitters: z.array(emitterCommonSchema).min(1, 'at least one emitter is needed').prefault(DEFAULT_EMITTERS),
      emitAtLeastOneOf: z.array(z.string()).optional(),
      emitToAllOf: z.array(z.string()).optional(),
      emitTimeoutInSec: z.number().positive().default(60),
      /** buffered: durably queued for every required emitter; delivered: confirmed by their sinks. */
      ack: z.enum(['buffered', 'delivered']).default('buffered'),
      /** Event types your producers send beyond the built-in catalog, so include/exclude may name them. */
      eventTypes: z.array(z.string().min(1)).default([]),
      eventTime: eventTimeSchema,
    })
    .prefault({}),
});

export type AuditstreamConfig = z.output<typeof configSchema>;
