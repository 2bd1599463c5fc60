import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { InvalidEventError } from '../../src/core/errors.js';
import { aggregate, deaggregate, KplAggregator, KPL_MAGIC, type UserRecord } from '../../src/formats/containers/kpl.js';

// aws-kinesis-agg is AWS's own Node implementation of the format: the independent check.
const require = createRequire(import.meta.url);
const agg = require('aws-kinesis-agg') as {
  aggregate(records: unknown[], onEncoded: (r: { partitionKey: string; ExplicitHashKey?: string; data: Buffer }, cb: (err?: Error) => void) => void, after: () => void, onError: (err: Error) => void): void;
  deaggregateSync(record: { partitionKey: string; data: string }, checksums: boolean, cb: (err: Error | null, records?: { partitionKey: string; explicitPartitionKey?: string; data: string }[]) => void): void;
};

function sample(n: number): UserRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    partitionKey: `user-${i % 7}`,
    ...(i % 3 === 0 ? { explicitHashKey: String(BigInt(i) * 10n ** 30n) } : {}),
    data: Buffer.from(`${JSON.stringify({ id: `e${i}`, msg: 'é'.repeat(i % 5) })}\n`),
  }));
}

function theirDeaggregate(data: Buffer): Promise<{ partitionKey: string; explicitPartitionKey?: string; data: string }[]> {
  return new Promise((resolve, reject) =>
    agg.deaggregateSync({ partitionKey: 'outer', data: data.toString('base64') }, true, (err, records) => (err ? reject(err) : resolve(records ?? []))),
  );
}

test('aggregate → deaggregate round trip keeps every record, key and hash key in order', () => {
  const records = sample(300);
  const out = deaggregate(aggregate(records));
  assert.deepEqual(out, records);
});

test('the aggregator predicts the exact size of the record it builds', () => {
  const a = new KplAggregator();
  for (const r of sample(50)) {
    const predicted = a.sizeWith(r);
    a.add(r);
    assert.equal(a.size, predicted);
  }
  assert.equal(a.build().length, a.size);
});

test('records made by aws-kinesis-agg deaggregate with ours', async () => {
  const records = sample(40).map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: r.data }));
  const encoded: Buffer[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(
      records,
      (rec, cb) => {
        encoded.push(rec.data);
        cb();
      },
      resolve,
      reject,
    ),
  );
  assert.ok(encoded.length >= 1);
  const ours = encoded.flatMap((d) => deaggregate(d) ?? []);
  assert.deepEqual(
    ours.map((r) => [r.partitionKey, r.data.toString()]),
    records.map((r) => [r.partitionKey, r.data.toString()]),
  );
  assert.deepEqual(
    ours.map((r) => r.explicitHashKey),
    records.map((r) => r.explicitHashKey),
  );
});

test('records made by our aggregate deaggregate with aws-kinesis-agg (checksums verified)', async () => {
  const records = sample(60);
  const theirs = await theirDeaggregate(aggregate(records));
  assert.deepEqual(
    theirs.map((r) => [r.partitionKey, Buffer.from(r.data, 'base64').toString()]),
    records.map((r) => [r.partitionKey, r.data.toString()]),
  );
  // protobufjs reads an absent optional index as 0, so only records that carry a hash key are compared.
  records.forEach((r, i) => {
    if (r.explicitHashKey !== undefined) assert.equal(String(theirs[i]!.explicitPartitionKey), r.explicitHashKey);
  });
});

test('a record without the magic prefix is not aggregated: null', () => {
  assert.equal(deaggregate(Buffer.from('{"id":"1"}\n')), null);
  assert.equal(deaggregate(Buffer.alloc(0)), null);
});

test('a damaged aggregated record fails with a clear error', () => {
  const good = aggregate(sample(5));
  const flipped = Buffer.from(good);
  flipped[10] = flipped[10]! ^ 0xff;
  assert.throws(() => deaggregate(flipped), (err: unknown) => err instanceof InvalidEventError && /MD5 check/.test(err.message));

  // A truncated protobuf whose MD5 is recomputed still fails, naming the truncation.
  const protobuf = good.subarray(KPL_MAGIC.length, good.length - 16).subarray(0, 30);
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const truncated = Buffer.concat([KPL_MAGIC, protobuf, createHash('md5').update(protobuf).digest()]);
  assert.throws(() => deaggregate(truncated), (err: unknown) => err instanceof InvalidEventError && /truncated/.test(err.message));
});
