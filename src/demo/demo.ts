import { CreateStreamCommand, KinesisClient, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import type { FastifyInstance } from 'fastify';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { awsClientConfig } from '../aws/client.js';
import { configSchema } from '../config/schema.js';
import { parseConfig } from '../config/validate.js';
import { errorMessage } from '../core/errors.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { buildApp } from '../server/app.js';
import type { AuditStore } from '../store/audit-store.js';
import { prepareDemoDir } from './demo-dir.js';
import { startKinesalite, type RunningEmulator } from './kinesis-emulator.js';
import { sampleRecord } from './sample-events.js';

export interface DemoOptions {
  dataDir: string;
  /** Events per second the publisher receives. */
  rate: number;
  shards: number;
  logger: Logger;
  print: (line: string) => void;
}

const STREAM = 'auditstream-demo';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDDEMO', secretAccessKey: 'demo-secret' };

/**
 * Publisher and collector end to end on one machine: a generator posts seed-format
 * records to a publisher (HTTP ingest → Kinesis emitter); a collector reads the
 * stream (Kinesis source with leases) into its audit store.
 */
export async function runDemo(opts: DemoOptions): Promise<{ stop: () => Promise<void> }> {
  const root = resolve(opts.dataDir);
  const rootLock = prepareDemoDir(root, opts.logger);
  const started: { emulator?: RunningEmulator; apps: FastifyInstance[]; pipelines: Pipeline[] } = { apps: [], pipelines: [] };
  const stopAll = async () => {
    for (const app of started.apps) await app.close().catch(() => undefined);
    for (const p of started.pipelines) await p.stop(5_000).catch((err) => opts.logger.error({ err: errorMessage(err) }, 'demo pipeline stop failed'));
    started.emulator?.stop();
    rootLock.release();
  };
  try {
    const emulator = (started.emulator = await startKinesalite());
    const kinesis = new KinesisClient(awsClientConfig({ region: REGION, endpoint: emulator.endpoint, credentials: CREDENTIALS }));
    await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: opts.shards }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30 }, { StreamName: STREAM });
    kinesis.destroy();
    const aws = { region: REGION, endpoint: emulator.endpoint, credentials: CREDENTIALS };

    const publisherConfig = parseConfig(configSchema, {
      dataDir: join(root, 'publisher'),
      server: { listen: '127.0.0.1:0' },
      audit: { emitters: [{ type: 'kinesis', name: 'kinesis', streamName: STREAM, ...aws }] },
    }, 'demo publisher');
    const collectorConfig = parseConfig(configSchema, {
      dataDir: join(root, 'collector'),
      server: { listen: '127.0.0.1:0' },
      sources: [{ type: 'kinesis', name: 'demo-stream', streamName: STREAM, ...aws, idlePollIntervalMs: 500 }],
      audit: { emitters: [{ type: 'audit-store' }] },
    }, 'demo collector');

    const publisher = await Pipeline.start(publisherConfig, opts.logger.child({ demo: 'publisher' }));
    started.pipelines.push(publisher);
    const publisherApp = buildApp({ config: publisherConfig, pipeline: publisher, logger: opts.logger });
    started.apps.push(publisherApp);
    const publisherUrl = await publisherApp.listen({ host: '127.0.0.1', port: 0 });

    const collector = await Pipeline.start(collectorConfig, opts.logger.child({ demo: 'collector' }));
    started.pipelines.push(collector);
    const collectorApp = buildApp({ config: collectorConfig, pipeline: collector, logger: opts.logger });
    started.apps.push(collectorApp);
    const collectorUrl = await collectorApp.listen({ host: '127.0.0.1', port: 0 });
    const store = (collector.emitter('audit-store')!.sink as unknown as { store: AuditStore }).store;

    opts.print(`auditstream demo is running — Ctrl-C stops it and everything it started.
  Kinesis emulator   ${emulator.endpoint}  (kinesalite; stream "${STREAM}", ${opts.shards} shards, region ${REGION})
  publisher          POST ${publisherUrl}/v1/events   → emitter "kinesis" (random partition keys)
  collector          GET  ${collectorUrl}/v1/events?type=login   (audit store ${join(root, 'collector', 'audit.db')})
  watch the stream   node bin/auditstream.js tail --stream ${STREAM} --endpoint ${emulator.endpoint}
  or with the AWS CLI  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --endpoint-url ${emulator.endpoint} --region ${REGION} kinesis describe-stream --stream-name ${STREAM}
  generating ${opts.rate} events/s of Foxpass, Blitz and Temporal records…`);

    let published = 0;
    let refused = 0;
    const tickMs = 250;
    const perTick = Math.max(1, Math.round((opts.rate * tickMs) / 1000));
    const generator = setInterval(() => {
      const body = Array.from({ length: perTick }, () => JSON.stringify(sampleRecord())).join('\n');
      fetch(`${publisherUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })
        .then(async (res) => {
          const answer = (await res.json()) as { accepted?: number };
          if (res.ok) published += answer.accepted ?? 0;
          else refused += perTick;
        })
        .catch(() => (refused += perTick));
    }, tickMs);
    const reporter = setInterval(() => {
      void store.count().then(
        (collected) => opts.print(`published ${published} events${refused ? ` (${refused} refused)` : ''} · collected ${collected} into the audit store`),
        (err) => opts.print(`collector store not readable yet: ${errorMessage(err)}`),
      );
    }, 5_000);

    return {
      stop: async () => {
        clearInterval(generator);
        clearInterval(reporter);
        const collected = await store.count().catch(() => NaN);
        await stopAll();
        opts.print(`demo stopped: published ${published}, collected ${collected}. Data in ${root}`);
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
