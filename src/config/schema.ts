import { z } from 'zod';
import { byteSize } from './byte-size.js';

/**
 * An emitter's or source's name becomes a file name (queues/<name>.db,
 * dead-letter/<name>.ndjson, sources/<name>/state.sqlite): nothing that could
 * leave its directory ("../x", "/x", "."), no separators, no hidden files.
 */
const componentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-", starting with a letter or digit (at most 64)');

/** A source without `name` is called `<type>-<index>`. */
export function sourceName(source: { type: string; name?: string | undefined }, index: number): string {
  return source.name ?? `${source.type}-${index}`;
}

/**
 * The keys every emitter has, whatever its type (seed 002's emitter block plus
 * queue/retry/batch). The sink's own keys are validated by its definition,
 * strictly, after these are removed.
 */
export const emitterCommonSchema = z.looseObject({
  type: z.string().min(1),
  name: componentName.optional(),
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
  sources: z
    .array(z.looseObject({ type: z.string().min(1), name: componentName.optional() }))
    .default([])
    .superRefine((sources, ctx) => {
      const seen = new Map<string, number>();
      sources.forEach((s, i) => {
        const name = sourceName(s, i);
        const earlier = seen.get(name);
        if (earlier === undefined) seen.set(name, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate source name "${name}" (also sources[${earlier}]): a source keeps its progress under its name; give each a distinct name` });
      });
    }),
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
    })
    .prefault({}),
});

export type AuditstreamConfig = z.output<typeof configSchema>;
