import { z } from 'zod';
import { timerMs, timerSec } from '../../config/timers.js';
import { awsConnectionShape } from '../../aws/connection-config.js';
import { parseStreamArn, STREAM_ARN } from '../../aws/stream-arn.js';
import { PARSER_NAMES } from '../../formats/format-registry.js';
import { vpcFlowFormatOption } from '../../formats/vpc-flow/format-option.js';

/** Kinesis allows 5 GetRecords calls per second per shard; a faster poll only earns throttling. */
export const MIN_POLL_INTERVAL_MS = 200;
/** Kinesis' own ceiling for GetRecords' Limit. */
export const MAX_RECORDS_PER_CALL = 10_000;


const leaseTableSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sqlite'),
    /** Defaults to `${dataDir}/kinesis-leases.sqlite`. */
    path: z.string().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('postgres'),
    url: z.string().min(1),
  }),
]);

export const kinesisSourceSchema = z
  .strictObject({
    streamName: z.string().min(1).max(128).optional(),
    streamArn: z.string().regex(STREAM_ARN, 'expected arn:aws:kinesis:<region>:<account>:stream/<name>').optional(),
    ...awsConnectionShape,
    /** SIEM collectors read one stream name in several regions: one set of readers per region. */
    regions: z.array(z.string().min(1)).min(1).optional(),
    startingPosition: z.enum(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']).default('TRIM_HORIZON'),
    startingTimestamp: z.iso.datetime({ offset: true }).optional(),
    decode: z.enum(['auto', 'ndjson', 'cloudwatch-logs', 'text']).default('auto'),
    parse: z.enum(['auto', ...PARSER_NAMES]).default('auto'),
    /** The format string VPC flow log lines were written with; AWS does not put it in the records. */
    vpcFlowFormat: vpcFlowFormatOption,
    /** Records no parser accepts become `unparsed` events (kept, searchable) instead of being dropped with a warning. */
    keepUnparsed: z.boolean().default(true),
    leaseTable: leaseTableSchema.default({ type: 'sqlite' }),
    /** Lease table namespace: workers with the same name share the stream's shards. Defaults to the source name. */
    applicationName: z.string().min(1).optional(),
    /** Defaults to hostname, pid and a random suffix. */
    workerId: z.string().min(1).optional(),
    leaseDurationSec: timerSec.positive().default(10),
    pollIntervalMs: timerMs.min(MIN_POLL_INTERVAL_MS).default(MIN_POLL_INTERVAL_MS),
    idlePollIntervalMs: timerMs.min(MIN_POLL_INTERVAL_MS).default(1000),
    maxRecordsPerCall: z.number().int().min(1).max(MAX_RECORDS_PER_CALL).default(MAX_RECORDS_PER_CALL),
    shardSyncIntervalSec: timerSec.positive().default(60),
    /** On stop, how long an in-flight publish may take to be acknowledged (and checkpointed) before it is abandoned. */
    stopDrainSec: timerSec.min(0).default(10),
    /** Events handed to the publisher at once; a checkpoint follows each acknowledged batch. */
    maxEventsPerPublish: z.number().int().min(1).default(1000),
    /**
     * Events one record (one KPL user record) may yield, unparsed ones included. Counted before they are
     * parsed; a record over it is kept as one unparsed event holding its data base64-encoded. Two bytes of
     * data (`0,` in a Records array, `{}` on a line) make an event of about 1.5 KB in memory, and a 1 MiB
     * record may inflate to 256 MiB: unbounded, one record could take the process's whole memory.
     */
    maxEventsPerRecord: z.number().int().min(1).default(100_000),
  })
  .superRefine((c, ctx) => {
    if ((c.streamName === undefined) === (c.streamArn === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['streamName'], message: 'set exactly one of streamName or streamArn' });
    }
    if (c.region !== undefined && c.regions !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['regions'], message: 'set region or regions, not both' });
    }
    const arnRegion = c.streamArn ? parseStreamArn(c.streamArn)?.region : undefined;
    const regions = c.regions ?? (c.region ? [c.region] : []);
    if (arnRegion !== undefined && regions.some((r) => r !== arnRegion)) {
      ctx.addIssue({ code: 'custom', path: ['regions'], message: `streamArn names region ${arnRegion}; use streamName to read several regions` });
    }
    if (arnRegion === undefined && regions.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['region'], message: 'set region (or regions) or a streamArn' });
    }
    if (new Set(regions).size !== regions.length) {
      ctx.addIssue({ code: 'custom', path: ['regions'], message: 'a region is listed twice' });
    }
    if (c.startingPosition === 'AT_TIMESTAMP' && c.startingTimestamp === undefined) {
      ctx.addIssue({ code: 'custom', path: ['startingTimestamp'], message: 'required when startingPosition is AT_TIMESTAMP' });
    }
    if (c.externalId !== undefined && c.roleArn === undefined) {
      ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'only meaningful with roleArn' });
    }
  })
  .transform(({ region, regions, ...c }) => {
    const arnRegion = c.streamArn ? parseStreamArn(c.streamArn)!.region : undefined;
    return { ...c, regions: regions ?? (region ? [region] : [arnRegion!]) };
  });

export type KinesisSourceConfig = z.output<typeof kinesisSourceSchema>;
