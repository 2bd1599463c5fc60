import { z } from 'zod';
import { awsConnectionShape } from '../../aws/connection-config.js';
import { timerSec } from '../../config/timers.js';
import { PARSER_NAMES } from '../../formats/format-registry.js';
import { vpcFlowFormatOption } from '../../formats/vpc-flow/format-option.js';

export const cloudWatchExportSourceSchema = z
  .strictObject({
    ...awsConnectionShape,
    /** Every log group whose name starts with this is exported (DescribeLogGroups logGroupNamePrefix). */
    logGroupPrefix: z.string().min(1).max(512).optional(),
    /** Log groups exported whatever their name; with logGroupPrefix, both sets are exported. */
    logGroups: z.array(z.string().min(1).max(512)).min(1).optional(),
    discoverEverySec: timerSec.positive().default(300),
    /** Size of the time range one export task covers. */
    windowSec: timerSec.min(1).default(300),
    /** A window is exported only once it ended this long ago: CloudWatch Logs accepts events up to hours late. */
    delaySec: timerSec.min(0).default(900),
    /** Where a newly found group starts: `now`, or an ISO 8601 time with an offset. */
    startAt: z.union([z.literal('now'), z.iso.datetime({ offset: true })]).default('now'),
    /** The export destination, in the same region as the log groups; CloudWatch Logs must be allowed to write to it. */
    bucket: z.string().min(3).max(63),
    /** Key prefix of every exported object: `<prefix>/<taskId>/<logStream>/000000.gz`. */
    prefix: z
      .string()
      .min(1)
      .regex(/^[^/].*[^/]$|^[^/]$/, 'no leading or trailing "/"')
      .default('auditstream-export'),
    /** S3 endpoint override; `endpoint` is CloudWatch Logs' (each service has its own VPC endpoint). */
    s3Endpoint: z.url().optional(),
    forcePathStyle: z.boolean().default(false),
    /** Delete an exported object once every event read from it was acknowledged. */
    deleteAfterAck: z.boolean().default(false),
    /** How often DescribeExportTasks asks after the running task, and how long to wait after LimitExceededException. */
    pollEverySec: timerSec.positive().default(10),
    parse: z.enum(['auto', ...PARSER_NAMES]).default('auto'),
    /** The format string VPC flow log lines were written with; AWS does not put it in the records. */
    vpcFlowFormat: vpcFlowFormatOption,
    keepUnparsed: z.boolean().default(true),
    publishChunk: z.number().int().min(1).max(10_000).default(500),
  })
  .superRefine((c, ctx) => {
    if (!c.logGroupPrefix && !c.logGroups) ctx.addIssue({ code: 'custom', path: ['logGroupPrefix'], message: 'set logGroupPrefix, logGroups or both: which log groups to export' });
  });

export type CloudWatchExportSourceConfig = z.infer<typeof cloudWatchExportSourceSchema>;
