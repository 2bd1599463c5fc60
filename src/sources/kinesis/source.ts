import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { awsClientConfig } from '../../aws/client.js';
import type { Publisher, Source, SourceContext, SourceDefinition } from '../source.js';
import { kinesisSourceSchema, type KinesisSourceConfig } from './config.js';
import { LeaseCoordinator } from './lease-coordinator.js';
import type { LeaseTable } from './lease-table.js';
import { PostgresLeaseTable } from './lease-table-postgres.js';
import { SqliteLeaseTable } from './lease-table-sqlite.js';
import { kinesisMetrics, type KinesisMetrics } from './metrics.js';
import { ShardReader } from './shard-reader.js';
import { listShards } from './shard-sync.js';

interface RegionReaders {
  region: string;
  client: KinesisClient;
  coordinator: LeaseCoordinator;
}

/**
 * A Kinesis data stream collector: in every configured region, a lease
 * coordinator shares the stream's shards with the other workers of the same
 * application and runs a shard reader per held shard.
 */
export class KinesisSource implements Source {
  readonly workerId: string;
  private readonly application: string;
  private readonly metrics: KinesisMetrics;
  private table: LeaseTable | undefined;
  private regions: RegionReaders[] = [];

  constructor(
    readonly name: string,
    private readonly config: KinesisSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.workerId = config.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.application = config.applicationName ?? name;
    this.metrics = kinesisMetrics(ctx.metrics);
  }

  async start(publisher: Publisher): Promise<void> {
    const c = this.config;
    const table =
      c.leaseTable.type === 'postgres'
        ? new PostgresLeaseTable(c.leaseTable.url, this.application)
        : new SqliteLeaseTable(c.leaseTable.path ?? join(this.ctx.dataDir, 'kinesis-leases.sqlite'), this.application);
    await table.open();
    this.table = table;
    const streamRef = c.streamArn ? { StreamARN: c.streamArn } : { StreamName: c.streamName! };
    const startingTimestamp = c.startingTimestamp ? new Date(c.startingTimestamp) : undefined;
    const logger = this.ctx.logger.child({ source: this.name, worker: this.workerId });

    for (const region of c.regions) {
      const client = new KinesisClient(
        awsClientConfig({
          region,
          ...(c.endpoint ? { endpoint: c.endpoint } : {}),
          // A copy: the SDK writes bookkeeping ($source) into the credentials object it is given.
          ...(c.credentials ? { credentials: { ...c.credentials } } : {}),
          ...(c.roleArn ? { roleArn: c.roleArn } : {}),
          ...(c.externalId ? { externalId: c.externalId } : {}),
          ...(c.sessionName ? { sessionName: c.sessionName } : {}),
          ...(c.stsEndpoint ? { stsEndpoint: c.stsEndpoint } : {}),
          // The readers and the lease pass retry with their own pacing; an SDK retry would be an unpaced extra GetRecords call.
          maxAttempts: 1,
        }),
      );
      const streamLabel = c.streamArn ?? c.streamName!;
      const regionLogger = logger.child({ region });
      const coordinator = new LeaseCoordinator({
        table,
        stream: c.streamArn ?? `${region}/${c.streamName}`,
        workerId: this.workerId,
        leaseDurationMs: c.leaseDurationSec * 1000,
        shardSyncIntervalMs: c.shardSyncIntervalSec * 1000,
        startingPosition: c.startingPosition,
        logger: regionLogger,
        listShards: (signal) => listShards(client, streamRef, signal),
        startReader: (lease) =>
          new ShardReader({
            client,
            streamRef,
            streamLabel,
            region,
            lease,
            publisher,
            decode: c.decode,
            parse: c.parse,
            vpcFlowFormat: c.vpcFlowFormat,
            keepUnparsed: c.keepUnparsed,
            eventTime: this.ctx.eventTime,
            maxDepth: this.ctx.maxDepth,
            sourceName: this.name,
            // Shard ids repeat across regions: with several regions the label says which.
            shardLabel: c.regions.length > 1 ? `${region}/${lease.shardId}` : lease.shardId,
            startingTimestamp,
            pollIntervalMs: c.pollIntervalMs,
            idlePollIntervalMs: c.idlePollIntervalMs,
            maxRecordsPerCall: c.maxRecordsPerCall,
            maxEventsPerPublish: c.maxEventsPerPublish,
            maxEventsPerRecord: c.maxEventsPerRecord,
            metrics: this.metrics,
            component: this.ctx.component,
            logger: regionLogger,
          }),
      });
      this.regions.push({ region, client, coordinator });
      coordinator.start();
    }
  }

  async stop(): Promise<void> {
    const regions = this.regions;
    this.regions = [];
    await Promise.all(regions.map((r) => r.coordinator.stop(this.config.stopDrainSec * 1000)));
    for (const r of regions) r.client.destroy();
    await this.table?.close();
    this.table = undefined;
  }

  status(): Record<string, unknown> {
    return {
      type: 'kinesis',
      workerId: this.workerId,
      application: this.application,
      regions: this.regions.map((r) => ({ region: r.region, ...r.coordinator.status() })),
    };
  }
}

export const kinesisSourceDefinition: SourceDefinition<KinesisSourceConfig> = {
  type: 'kinesis',
  schema: kinesisSourceSchema,
  create: (name, config, ctx) => new KinesisSource(name, config, ctx),
};
