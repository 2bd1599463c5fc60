import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStreamArn } from '../../src/aws/stream-arn.js';
import { parseConfig } from '../../src/config/validate.js';
import { kinesisSinkSchema, streamTarget } from '../../src/sinks/kinesis/config.js';
import { kinesisSourceSchema } from '../../src/sources/kinesis/config.js';

test('a stream ARN gives partition, region, account and name', () => {
  assert.deepEqual(parseStreamArn('arn:aws:kinesis:eu-west-1:123456789012:stream/audit.v2_x-y'), {
    partition: 'aws', region: 'eu-west-1', accountId: '123456789012', streamName: 'audit.v2_x-y',
  });
  assert.equal(parseStreamArn('arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a')?.partition, 'aws-cn');
  for (const bad of ['arn:aws:kinesis:eu-west-1:12345:stream/a', 'arn:aws:s3:::bucket', 'arn:aws:kinesis:eu-west-1:123456789012:stream/', `arn:aws:kinesis:eu-west-1:123456789012:stream/${'a'.repeat(129)}`, 'audit']) {
    assert.equal(parseStreamArn(bad), undefined, bad);
  }
});

test('the Kinesis emitter and the Kinesis source accept and refuse the same stream ARNs', () => {
  const long = `arn:aws:kinesis:eu-west-1:123456789012:stream/${'a'.repeat(129)}`;
  const ok = 'arn:aws:kinesis:eu-west-1:123456789012:stream/audit';
  const sink = (streamArn: string) => parseConfig(kinesisSinkSchema, { streamArn }, 'e');
  const source = (streamArn: string) => parseConfig(kinesisSourceSchema, { streamArn }, 's');
  assert.deepEqual(streamTarget(sink(ok)), { ref: { StreamARN: ok }, name: 'audit', region: 'eu-west-1' });
  assert.deepEqual(source(ok).regions, ['eu-west-1']);
  assert.throws(() => sink(long), /e\.streamArn: /);
  assert.throws(() => source(long), /s\.streamArn: /);
});
