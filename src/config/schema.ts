import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidEventError } from '../core/errors.js';
import { DEFAULT_EVENT_TIME_BOUNDS, parseTimeMs, type EventTimeBounds } from '../core/time.js';
import { DEFAULT_MAX_DEPTH } from '../formats/parse-helpers/depth.js';
import { TEXT_FORMATS } from '../formats/text-formats.js';
import { vpcFlowFormatOption } from '../formats/vpc-flow/format-option.js';
import { byteSize, positiveByteSize } from './byte-size.js';
import { listenProblem } from './listen-address.js';
import { timerMs, timerSec } from './timers.js';

/**
 * An emitter's or source's name becomes a file name (dead-letter/<name>.ndjson,
 * sources/<name>/state.sqlite) and a destination id in the journal: nothing that could
 * leave its directory ("../x", "/x", "."), no separators, no hidden files.
 */
const componentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-", starting with a letter or digit (at most 64)');

/**
 * The keys every emitter has, whatever its type (Blitz Identity Provider's emitter block plus
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
      maxBytes: positiveByteSize.prefault('1GiB'),
      whenFull: z.enum(['block', 'dropOldest']).default('block'),
    })
    .prefault({}),
  retry: z
    .strictObject({
      initialBackoffMs: timerMs.positive().default(200),
      maxBackoffMs: timerMs.positive().default(60_000),
    })
    .prefault({}),
  batch: z
    .strictObject({
      maxEvents: z.number().int().positive().optional(),
      maxBytes: positiveByteSize.optional(),
      lingerMs: timerMs.nonnegative().optional(),
      /** Batches sent at once; 1 sends the next only once the last is done (the sink's default when unset). */
      maxInFlight: z.number().int().min(1).max(16).optional(),
    })
    .optional(),
});

export const COMMON_EMITTER_KEYS = ['type', 'name', 'enabled', 'include', 'exclude', 'queue', 'retry', 'batch'] as const;

export type EmitterCommonConfig = z.output<typeof emitterCommonSchema>;

export const DEFAULT_EMITTERS = [
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
    notBefore: instant.prefault(new Date(DEFAULT_EVENT_TIME_BOUNDS.notBeforeMs).toISOString()).refine((ms) => ms < Date.now(), 'must be in the past, or no event could be accepted'),
    maxAheadSec: z.number().int().nonnegative().default(DEFAULT_EVENT_TIME_BOUNDS.maxAheadSec),
  })
  .prefault({})
  .transform((t): EventTimeBounds => ({ notBeforeMs: t.notBefore, maxAheadSec: t.maxAheadSec }));

/** The keys every source has; the source's own keys are validated by its definition, strictly. */
export const sourceCommonSchema = z.looseObject({
  type: z.string().min(1),
  name: componentName.optional(),
  /** The tenant every event of this source belongs to (FortiSIEM's "Organization" of a collector); docs/tenants.md. */
  tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a tenant id: [a-z0-9][a-z0-9-]{0,62}').optional(),
});

// Sizes as a user writes them: prefault values are parsed like the user's own, and shown as the JSON Schema's defaults.
const limitsDefaults = {
  maxBodyBytes: '5MiB',
  maxEventBytes: '1MiB',
  maxEventsPerRequest: 10_000,
  maxDepth: DEFAULT_MAX_DEPTH,
  maxResponseBytes: '8MiB',
  maxIngestBytesInFlight: '4MiB',
};

/**
 * Nesting beyond this overflows the stack of recursive JSON code after ingest
 * (JSON.stringify in the queue and in the SQLite writer thread, PostgreSQL's
 * jsonb): an event that deep would be acknowledged and then dead-lettered.
 */
export const MAX_DEPTH_LIMIT = 1000;
const serverDefaults = { listen: '127.0.0.1:8080' };
const apiKey = z.string().min(16, 'an API key must be at least 16 characters');

/** Zod's own answer for a union that no branch took is "Invalid input": this says what the object form got wrong. */
/** `address/bits` (or a lone address), bits within the family's length. */
function isCidr(value: string): boolean {
  const [address = '', bits, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function apiKeyEntryError(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_union') return undefined;
  const input = issue.input;
  const inner = input !== null && typeof input === 'object' && !Array.isArray(input) ? issue.errors[1]?.[0] : undefined;
  if (inner === undefined) return 'expected an API key: a string, or an object {key, textFormat, vpcFlowFormat}';
  return `${inner.path.map(String).join('.')}: ${inner.message}`;
}
// 72 s keep-alive outlives the 60 s idle timeout of common load balancers, so the proxy closes first and never
// reuses a connection we are closing. A request (headers + body) gets 60 s: 5 MiB at under 1 Mbit/s.
const timeoutsDefaults = { headersSec: 20, requestSec: 60, keepAliveSec: 72 };

export const serverSchema = z.strictObject({
  listen: z
    .string()
    .superRefine((listen, ctx) => {
      const problem = listenProblem(listen);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(serverDefaults.listen),
  // A plain string, or an object for a producer that needs more than the key: one that cannot add `?format=` to its URL.
  apiKeys: z
    .array(
      z.union([
        apiKey,
        z.strictObject({
          key: apiKey,
          /** How a text/plain body sent with this key is read when the request names no `?format=`. */
          textFormat: z.enum(TEXT_FORMATS).optional(),
          /** The format string of the VPC flow log lines sent with this key when the request names no `?vpcFlowFormat=`. */
          vpcFlowFormat: vpcFlowFormatOption,
        }).refine((k) => k.vpcFlowFormat === undefined || k.textFormat !== 'blitz', {
          path: ['vpcFlowFormat'],
          message: 'applies to VPC flow log lines; this key reads text as blitz',
        }),
      ], { error: apiKeyEntryError }),
    )
    .default([]),
  limits: z
    .strictObject({
      maxBodyBytes: positiveByteSize.prefault(limitsDefaults.maxBodyBytes),
      maxEventBytes: positiveByteSize.prefault(limitsDefaults.maxEventBytes),
      maxEventsPerRequest: z.number().int().positive().default(limitsDefaults.maxEventsPerRequest),
      maxDepth: z
        .number()
        .int()
        .positive()
        .max(MAX_DEPTH_LIMIT, `at most ${MAX_DEPTH_LIMIT}: deeper events overflow the recursive JSON code of the queue and the audit store`)
        .default(limitsDefaults.maxDepth),
      maxResponseBytes: positiveByteSize.prefault(limitsDefaults.maxResponseBytes),
      maxIngestBytesInFlight: positiveByteSize.prefault(limitsDefaults.maxIngestBytesInFlight),
    })
    .prefault({}),
  // Sub-second transport timeouts would cut off honest clients on any network hiccup.
  timeouts: z
    .strictObject({
      headersSec: timerSec.min(1).default(timeoutsDefaults.headersSec),
      requestSec: timerSec.min(1).default(timeoutsDefaults.requestSec),
      keepAliveSec: timerSec.min(1).default(timeoutsDefaults.keepAliveSec),
    })
    .prefault({})
    // Compared only once requestSec itself is valid, so a bad requestSec is reported once, not twice.
    .refine((t) => !(t.requestSec >= 1) || t.headersSec <= t.requestSec, {
      path: ['headersSec'],
      message: 'must not be longer than server.timeouts.requestSec, which bounds the whole request including its headers',
    }),
  maxConnections: z.number().int().positive().default(1024),
  shutdownTimeoutSec: timerSec.positive().default(30),
});

/** Shaped like Blitz Identity Provider's audit block (docs/producers.md), so a Blitz block pastes in. */
export const auditSchema = z.strictObject({
  emitters: z.array(emitterCommonSchema).min(1, 'at least one emitter is needed').prefault(DEFAULT_EMITTERS),
  emitAtLeastOneOf: z.array(z.string()).optional(),
  emitToAllOf: z.array(z.string()).optional(),
  emitTimeoutInSec: timerSec.positive().default(60),
  /** buffered: durably queued for every required emitter; delivered: confirmed by their sinks. */
  ack: z.enum(['buffered', 'delivered']).default('buffered'),
  /** Event types your producers send beyond the built-in catalog, so include/exclude may name them. */
  eventTypes: z.array(z.string().min(1)).default([]),
  eventTime: eventTimeSchema,
});

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('./auditstream-data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** serve logs what it did (received, delivered, queued, failing) this often at info, when anything happened; 0: never. */
  logSummaryEverySec: timerSec.min(0).default(60),
  server: serverSchema.prefault({}),
  sources: z.array(sourceCommonSchema).default([]),
  audit: auditSchema.prefault({}),
  /** Tenants (customers) and the destinations they manage through the API (docs/tenants.md). */
  tenants: z
    .strictObject({
      /** Where tenants, keys and destinations are kept: SQLite in dataDir, or PostgreSQL shared by several nodes. */
      controlStore: z
        .union([z.literal('embedded'), z.strictObject({ postgres: z.strictObject({ connectionString: z.string().min(1) }) })])
        .default('embedded'),
      /** The AWS principal tenants' roles trust, written into their CloudFormation templates: the vendor's account id, or one role or user ARN. */
      vendorPrincipal: z
        .string()
        .regex(/^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+))$/, 'expected a 12-digit AWS account id or an IAM ARN like arn:aws:iam::123456789012:role/name')
        .optional(),
      /** Where the operator hosts the generic templates (GET /v1/cloudformation/{type}) for quick-create links: S3 object URLs, the only kind the console loads. */
      cloudFormationTemplateUrls: z
        .strictObject({ kinesis: z.url({ protocol: /^https$/ }).optional(), s3: z.url({ protocol: /^https$/ }).optional() })
        .default({}),
      /** A destination failing this long becomes `suspended`: retried hourly, backlog kept up to its cap. */
      suspendAfterSec: timerSec.positive().default(86_400),
      /** Quotas of a tenant created without its own. */
      defaultQuotas: z
        .strictObject({
          ingestEventsPerSec: z.number().positive().default(1000),
          ingestBurst: z.number().int().positive().default(10_000),
          maxDestinations: z.number().int().nonnegative().default(10),
          maxBacklogBytes: positiveByteSize.prefault('1GiB'),
        })
        .prefault({}),
      /**
       * Calls that change the control plane (every method but GET and HEAD, on every route but ingest) per
       * tenant, and per admin key: each writes the control store and may connect out (Test & Add).
       */
      manageRateLimit: z
        .strictObject({
          /** Sustained calls per second; over it → 429 MANAGE_RATE_LIMITED with Retry-After. */
          perSecond: z.number().positive().default(5),
          /** Calls at once above that rate (token bucket depth). */
          burst: z.number().int().positive().default(50),
        })
        .prefault({}),
      /** What a tenant may point its destinations at: a tenant is not the operator. */
      destinationPolicy: z
        .strictObject({
          /** Destination types tenants may create; `log` and `audit-store` (local files) are never allowed. */
          allowTypes: z.array(z.string().min(1)).default(['kinesis', 's3', 'kafka', 'http']),
          /** CIDRs (e.g. 127.0.0.1/32) tenant endpoints, brokers and URLs may resolve to although loopback, private, link-local or metadata. */
          allowNetworks: z.array(z.string().refine(isCidr, 'expected an IP network like 127.0.0.1/32 or fd00::/8')).default([]),
          /** Tenant destinations may carry static AWS access keys (otherwise a role with the tenant's External ID). */
          allowStaticAwsKeys: z.boolean().default(false),
          /** Endpoint overrides (`endpoint` on AWS types) may be set, still subject to allowNetworks. */
          allowEndpointOverride: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The journal every accepted event is written to once, for all its emitters (docs/journal.md). */
  journal: z
    .strictObject({
      // At least 64 KiB: smaller segments would spend most of their bytes on headers and route sets. At most 1 GiB: offsets are 32-bit.
      segmentBytes: byteSize.pipe(z.number().min(65_536, 'must be at least 64KiB').max(1_073_741_824, 'must be at most 1GiB')).prefault('64MiB'),
      // Memory traded for CPU: smaller lowers the peak RSS under load, but a destination a few seconds behind reads and parses its records back from disk (docs/benchmarks.md §5).
      cacheBytes: byteSize.pipe(z.number().max(1_073_741_824, 'must be at most 1GiB')).prefault('24MiB'),
    })
    .prefault({}),
});

export type AuditstreamConfig = z.output<typeof configSchema>;
