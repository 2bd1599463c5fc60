import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseByteSize } from '../../src/config/byte-size.js';
import { emitterCommonSchema, serverSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { logSinkSchema } from '../../src/sinks/log/config.js';
import { s3SinkSchema } from '../../src/sinks/s3/config.js';

const MiB = 1024 ** 2;

test('a size with a unit means the same number of bytes in every size key', () => {
  const size = '5MB';
  const read = {
    'server.limits.maxBodyBytes': parseConfig(serverSchema, { limits: { maxBodyBytes: size } }, 'server').limits.maxBodyBytes,
    'queue.maxBytes': parseConfig(emitterCommonSchema, { type: 'log', queue: { maxBytes: size } }, 'e').queue.maxBytes,
    'log totalSizeCap': parseConfig(logSinkSchema, { totalSizeCap: size }, 'e').totalSizeCap,
    's3 maxObjectBytes': parseConfig(s3SinkSchema, { bucket: 'audit-bucket', region: 'us-east-1', maxObjectBytes: size }, 'e').maxObjectBytes,
  };
  assert.deepEqual(read, Object.fromEntries(Object.keys(read).map((k) => [k, 5 * MiB])));
});

test('KB/MB/GB/TB and KiB/MiB/GiB/TiB are both powers of 1024, in any case, with decimals', () => {
  assert.equal(parseByteSize('5GB'), 5 * 1024 ** 3, "logback's totalSizeCap: 5GB");
  assert.equal(parseByteSize('5GiB'), 5 * 1024 ** 3);
  assert.equal(parseByteSize('500mb'), 500 * MiB);
  assert.equal(parseByteSize('64 KiB'), 64 * 1024);
  assert.equal(parseByteSize('1TB'), 1024 ** 4);
  assert.equal(parseByteSize('1.5GB'), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize('1048576'), MiB);
  assert.equal(parseByteSize(1000), 1000);
  for (const bad of ['5 parsecs', '5MB extra', '', '-1', 'GB', -1, Number.NaN]) assert.equal(parseByteSize(bad), null, JSON.stringify(bad));
});

test('log totalSizeCap keeps 0 as "no cap" and the 5GB default; other keys must be more than 0', () => {
  assert.equal(parseConfig(logSinkSchema, { totalSizeCap: 0 }, 'e').totalSizeCap, 0);
  assert.equal(parseConfig(logSinkSchema, {}, 'e').totalSizeCap, 5 * 1024 ** 3);
  assert.throws(() => parseConfig(serverSchema, { limits: { maxBodyBytes: 0 } }, 'server'), /server\.limits\.maxBodyBytes: /);
});
