import { z } from 'zod';
import { byteSize } from '../../config/byte-size.js';
import { timerSec } from '../../config/timers.js';
import { awsConnectionShape } from '../../aws/connection-config.js';
import { PARSER_NAMES } from '../../formats/format-registry.js';
import { vpcFlowFormatOption } from '../../formats/vpc-flow/format-option.js';
import { DECODE_MODES } from '../../formats/read-record.js';

/** The same bound as gzip'd data gets when it inflates (DEFAULT_MAX_DECODED_BYTES). */
export const MAX_OBJECT_BYTES = 256 * 1024 * 1024;

export const s3SourceSchema = z.strictObject({
  ...awsConnectionShape,
  bucket: z.string().min(3).max(63),
  /** Only keys starting with this are read, e.g. `AWSLogs/123456789012/CloudTrail/us-east-1/`. */
  prefix: z.string().default(''),
  forcePathStyle: z.boolean().default(false),
  pollIntervalSec: timerSec.positive().default(60),
  /** As CloudWatch Logs export readers do: delete an object once every event read from it was acknowledged. */
  deleteAfterRead: z.boolean().default(false),
  decode: z.enum(DECODE_MODES).default('auto'),
  parse: z.enum(['auto', ...PARSER_NAMES]).default('auto'),
  /** The format string VPC flow log lines were written with; AWS does not put it in the records. */
  vpcFlowFormat: vpcFlowFormatOption,
  /** Keep records no parser accepts as `unparsed` events (raw text kept) instead of only logging them. */
  keepUnparsed: z.boolean().default(true),
  /** Events handed to the pipeline per publish; progress inside an object advances per acknowledged chunk. */
  publishChunk: z.number().int().min(1).max(10_000).default(500),
  /**
   * Larger objects (by the listing's Size) are skipped, not downloaded: each
   * object is read whole into memory and decoded as one string, which Node
   * cannot make past about 512 MiB.
   */
  maxObjectBytes: byteSize
    .pipe(z.number().int().min(1024).max(MAX_OBJECT_BYTES, `at most 256MiB (${MAX_OBJECT_BYTES} bytes): each object is read whole into memory`))
    .prefault('256MiB'),
});

export type S3SourceConfig = z.infer<typeof s3SourceSchema>;
