import { z } from 'zod';
import { timerSec } from '../../config/timers.js';
import { byteSize } from '../../config/byte-size.js';
import { awsConnectionShape } from '../../aws/connection-config.js';
import { codecSchema } from '../../codecs/codec.js';
import { KEY_PLACEHOLDERS } from './object-key.js';

const MiB = 1024 * 1024;
/**
 * The sink builds each object in memory — its lines joined into one string, then
 * a Buffer, then gzip — before uploading, so an object is bounded by RAM and by
 * V8's longest string (2^29 - 24 characters, about 512 MiB), not by S3's 5 TiB.
 */
const MAX_OBJECT_BYTES = 256 * MiB;

/** The default object key. `{ext}` is `.jsonl.gz` with gzip, `.jsonl` without (`.log…` for codec raw). */
export const DEFAULT_KEY_TEMPLATE = '{prefix}/{yyyy}/{MM}/{dd}/{HH}/{emitter}-{firstEventTime}-{batchId}{ext}';

/** Where the objects go; the AWS identity keys come from the shared AWS connection shape. */
export const s3LocationShape = {
  ...awsConnectionShape,
  bucket: z.string().min(3).max(63),
  /** Key prefix; leading and trailing slashes are ignored. */
  prefix: z.string().default(''),
  /** Path-style URLs (http://host/bucket/key), needed by most S3-compatible servers and emulators. */
  forcePathStyle: z.boolean().default(false),
};

export const s3SinkSchema = z
  .strictObject({
    ...s3LocationShape,
    rollEverySec: timerSec.positive().default(60),
    // Written as bytes or "64MiB", like every size key.
    maxObjectBytes: byteSize
      .pipe(
        z
          .number()
          .int()
          .min(1024)
          .max(MAX_OBJECT_BYTES, `at most 256MiB (${MAX_OBJECT_BYTES} bytes): each object is built in memory before it is uploaded`),
      )
      .prefault('64MiB'),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    keyTemplate: z
      .string()
      .default(DEFAULT_KEY_TEMPLATE)
      .superRefine((tpl, ctx) => {
        for (const m of tpl.matchAll(/\{([^}]*)\}/g)) {
          if (!KEY_PLACEHOLDERS.includes(m[1]!)) {
            ctx.addIssue({ code: 'custom', message: `unknown placeholder {${m[1]}}; known: ${KEY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}` });
          }
        }
        // Without it two batches starting in the same millisecond would overwrite each other's object.
        if (!tpl.includes('{batchId}')) ctx.addIssue({ code: 'custom', message: 'must contain {batchId} so that two batches never share a key' });
      }),
    /** How an event becomes one line (src/codecs/codec.ts). */
    codec: codecSchema,
  })
  .superRefine((c, ctx) => {
    if (c.externalId && !c.roleArn) ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'externalId needs roleArn' });
  });

export type S3SinkConfig = z.infer<typeof s3SinkSchema>;
