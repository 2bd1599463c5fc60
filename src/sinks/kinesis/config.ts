import { z } from 'zod';
import { awsConnectionShape } from '../../aws/connection-config.js';
import { parseStreamArn, STREAM_ARN } from '../../aws/stream-arn.js';
import { codecSchema } from '../../codecs/codec.js';

/** Kinesis service limits (docs/failure-modes.md, "Service limits"). */
export const KINESIS_LIMITS = {
  recordsPerRequest: 500,
  bytesPerRequest: 5 * 1024 * 1024,
  /** Data plus partition key of one record. */
  bytesPerRecord: 1024 * 1024,
  recordsPerSecPerShard: 1000,
  bytesPerSecPerShard: 1024 * 1024,
  partitionKeyChars: 256,
} as const;

/** Event fields that can key records: string-valued canonical fields. */
export const KEY_FIELDS = ['actor', 'sessionId', 'tenant', 'type', 'source', 'service', 'clientIp', 'outcome', 'id'] as const;

const MAX_HASH_KEY = 2n ** 128n - 1n;

export const kinesisSinkSchema = z
  .strictObject({
    streamName: z.string().regex(/^[\w.-]{1,128}$/, 'stream names are 1–128 characters of letters, digits, _ . -').optional(),
    streamArn: z.string().regex(STREAM_ARN, 'expected a stream ARN like arn:aws:kinesis:us-east-1:123456789012:stream/audit').optional(),
    ...awsConnectionShape,
    /** `random` (spread evenly over shards, as Foxpass does) or an event field whose value keeps that key's events in order. */
    partitionKey: z
      .union([z.enum(['random', ...KEY_FIELDS]), z.string().regex(/^details\.[\w.-]+$/)], {
        error: `expected "random", one of ${KEY_FIELDS.join(', ')}, or details.<field>`,
      })
      .default('random'),
    /** A fixed decimal 128-bit hash key: every record goes to the shard owning it. */
    explicitHashKey: z
      .string()
      .regex(/^\d{1,39}$/, 'expected a decimal number between 0 and 2^128-1')
      .refine((v) => BigInt(v) <= MAX_HASH_KEY, 'must be at most 2^128-1')
      .optional(),
    /** How an event becomes record data (src/codecs/codec.ts); each record ends with "\n". */
    codec: codecSchema,
    aggregation: z.boolean().default(false),
    lingerMs: z.number().int().min(0).max(60_000).default(50),
    maxRecordsPerRequest: z.number().int().min(1).max(KINESIS_LIMITS.recordsPerRequest).default(KINESIS_LIMITS.recordsPerRequest),
    rateLimit: z
      .strictObject({
        recordsPerSecPerShard: z.number().positive().max(KINESIS_LIMITS.recordsPerSecPerShard).default(KINESIS_LIMITS.recordsPerSecPerShard),
        bytesPerSecPerShard: z.number().positive().max(KINESIS_LIMITS.bytesPerSecPerShard).default(KINESIS_LIMITS.bytesPerSecPerShard),
      })
      .default({ recordsPerSecPerShard: KINESIS_LIMITS.recordsPerSecPerShard, bytesPerSecPerShard: KINESIS_LIMITS.bytesPerSecPerShard }),
    shardMapRefreshSec: z.number().int().min(1).max(86_400).default(60),
  })
  .superRefine((c, ctx) => {
    if (!c.streamName === !c.streamArn) {
      ctx.addIssue({ code: 'custom', path: ['streamName'], message: 'set exactly one of streamName or streamArn' });
    }
    if (!c.region && !c.streamArn) {
      ctx.addIssue({ code: 'custom', path: ['region'], message: 'required (or give streamArn, which names the region)' });
    }
    if (c.externalId && !c.roleArn) {
      ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'only used together with roleArn' });
    }
    if (c.streamArn && c.region) {
      const arnRegion = parseStreamArn(c.streamArn)?.region;
      if (arnRegion && arnRegion !== c.region) {
        ctx.addIssue({ code: 'custom', path: ['region'], message: `is ${c.region} but streamArn names region ${arnRegion}` });
      }
    }
  });

export type KinesisSinkConfig = z.output<typeof kinesisSinkSchema>;

/** The stream as the API wants it, and a name for messages. */
export interface StreamTarget {
  /** Spread into every Kinesis request: StreamName or StreamARN. */
  ref: { StreamName: string } | { StreamARN: string };
  /** Human name for messages: the stream name. */
  name: string;
  region: string;
}

export function streamTarget(c: KinesisSinkConfig): StreamTarget {
  if (c.streamArn) {
    const arn = parseStreamArn(c.streamArn)!;
    return { ref: { StreamARN: c.streamArn }, name: arn.streamName, region: c.region ?? arn.region };
  }
  return { ref: { StreamName: c.streamName! }, name: c.streamName!, region: c.region! };
}
