import { join } from 'node:path';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawnUntil, waitUntil } from './processes.mjs';

export const REGION = 'us-east-1';
/** Any static keys do for the emulator; a fresh object each time because the SDK annotates the one it gets. */
export const credentials = () => ({ accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' });

/** kinesalite in its own process, with the call counter of kinesalite-server.mjs. */
export async function startKinesalite() {
  const { child, match } = await spawnUntil([join(import.meta.dirname, 'kinesalite-server.mjs')], { ready: /listening on (http:\/\/\S+)/, what: 'kinesalite' });
  const endpoint = match[1];
  const client = new KinesisClient({ endpoint, region: REGION, credentials: credentials(), requestHandler: new NodeHttpHandler({ requestTimeout: 60_000 }), maxAttempts: 3 });
  return {
    child,
    endpoint,
    client,
    /** API calls by operation since the last call to this, e.g. { PutRecords: 12 }. */
    async takeCalls() {
      return (await fetch(`${endpoint}/__bench/calls`)).json();
    },
    async createStream(name, shards) {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
      await waitUntil(
        async () => (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE',
        `stream ${name} to become ACTIVE`,
        30_000,
        25,
      );
    },
    async deleteStream(name) {
      await client.send(new DeleteStreamCommand({ StreamName: name })).catch(() => undefined);
    },
    /** Every record's data, all shards, from TRIM_HORIZON (an independent read, not auditstream's source). */
    async readAll(name) {
      const out = [];
      const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: name }));
      for (const shard of Shards) {
        let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
        while (iterator) {
          const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
          for (const r of res.Records ?? []) out.push(Buffer.from(r.Data));
          if ((res.Records ?? []).length === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
          iterator = res.NextShardIterator;
        }
      }
      return out;
    },
    /** Writes records (Buffers) with PutRecords, 500 a call, resending any that failed. */
    async putAll(name, datas) {
      for (let i = 0; i < datas.length; i += 500) {
        let entries = datas.slice(i, i + 500).map((Data, k) => ({ Data, PartitionKey: `pk-${i + k}` }));
        while (entries.length > 0) {
          const res = await client.send(new PutRecordsCommand({ StreamName: name, Records: entries }));
          entries = entries.filter((_, k) => res.Records?.[k]?.ErrorCode);
        }
      }
    },
  };
}
