import { z } from 'zod';
import { positiveByteSize } from '../../config/byte-size.js';
import { PARSER_NAMES } from '../../formats/format-registry.js';
import { vpcFlowFormatOption } from '../../formats/vpc-flow/format-option.js';

/** Firehose caps an access key at 4096 bytes; a shorter one than this is guessable. */
const MIN_ACCESS_KEY_CHARS = 16;
const ONE_KEY = 'set at least one access key, e.g. secureParams: { accessKey: <the access key set on the Firehose stream> }';

export const firehoseSourceSchema = z.strictObject({
  /** Where Firehose POSTs; defaults to `/v1/firehose/<name>`. */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~\/-]*$/, 'an absolute URL path: "/" followed by letters, digits, ".", "_", "~", "-" or "/"')
    .optional(),
  /** Every value is an accepted X-Amz-Firehose-Access-Key: two while a key is rotated. Sealed in the file like other secrets. */
  secureParams: z
    .record(z.string(), z.string().min(MIN_ACCESS_KEY_CHARS, `an access key must be at least ${MIN_ACCESS_KEY_CHARS} characters`).max(4096, 'Firehose sends at most 4096 bytes'), {
      error: `required: ${ONE_KEY}`,
    })
    .refine((keys) => Object.keys(keys).length > 0, ONE_KEY),
  decode: z.enum(['auto', 'ndjson', 'cloudwatch-logs', 'text']).default('auto'),
  parse: z.enum(['auto', ...PARSER_NAMES]).default('auto'),
  /** The format string VPC flow log lines were written with; AWS does not put it in the records. */
  vpcFlowFormat: vpcFlowFormatOption,
  /** The request body, after Content-Encoding: gzip is undone. base64 makes it about 4/3 of the stream's buffer size. */
  maxBodyBytes: positiveByteSize.prefault('8MiB'),
  /** Records one request may carry; more is refused whole (413). */
  maxRecordsPerRequest: z.number().int().positive().default(10_000),
  /** The records' data after base64 and their own gzip are undone, summed over a request: bounds a gzip bomb. */
  maxDecodedBytes: positiveByteSize.prefault('64MiB'),
  /**
   * Events one request may yield, unparsed ones included; more is refused whole (413) before they are parsed.
   * Each takes about 1.5 KB of memory until the journal has it, and two bytes of data (`0,` in a Records
   * array, `{}` on a line) can make one: without it 6 KB of gzip held the event loop 135 s and took 3.4 GB.
   */
  maxEventsPerRequest: z.number().int().positive().default(100_000),
  /**
   * The common attributes' names and values (UTF-8), summed; more is refused whole (413). Every event of the
   * request carries a copy: without it a 14 KB header on 20,000 events of a 3.8 KB request wrote 278 MB to the journal.
   */
  maxCommonAttributesBytes: positiveByteSize.prefault('1KiB'),
});

export type FirehoseSourceConfig = z.output<typeof firehoseSourceSchema>;
