import { CreateStreamCommand, KinesisClient, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import type { FastifyInstance } from 'fastify';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { awsClientConfig } from '../aws/client.js';
import { configSchema } from '../config/schema.js';
import { parseConfig } from '../config/validate.js';
import { sleep } from '../core/async.js';
import { errorMessage } from '../core/errors.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { buildApp } from '../server/app.js';
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
  /** How to run this CLI again, as a shell command (absent: `auditstream`), for the commands the demo prints. */
  cli?: string;
}

/** Printed commands start with it, so that a person (or a test) can tell them from the rest. */
export const COMMAND_PROMPT = '$ ';
/** How long a stop waits for the events in flight to be collected. */
const DRAIN_MS = 10_000;

const STREAM = 'auditstream-demo';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDDEMO', secretAccessKey: 'demo-secret' };

/**
 * Publisher and collector end to end on one machine: a generator posts producer-format
 * records to a publisher (HTTP ingest → Kinesis emitter); a collector reads the
 * stream (Kinesis source with leases) into its audit store.
 */
export async function runDemo(opts: DemoOptions): Promise<{ stop: (signal?: AbortSignal) => Promise<void> }> {
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
    const publisherApp = buildApp({ config: publisherConfig, pipeline: publisher, search: publisher.search, logger: opts.logger });
    started.apps.push(publisherApp);
    const publisherUrl = await publisherApp.listen({ host: '127.0.0.1', port: 0 });

    const collector = await Pipeline.start(collectorConfig, opts.logger.child({ demo: 'collector' }));
    started.pipelines.push(collector);
    const collectorApp = buildApp({ config: collectorConfig, pipeline: collector, search: collector.search, logger: opts.logger });
    started.apps.push(collectorApp);
    const collectorUrl = await collectorApp.listen({ host: '127.0.0.1', port: 0 });
    const store = collector.search;

    const awsEnv = `AWS_ACCESS_KEY_ID=${CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${CREDENTIALS.secretAccessKey}`;
    const self = opts.cli ?? 'auditstream';
    const example = JSON.stringify({ type: 'login', time: new Date().toISOString(), actor: 'you', message: 'sent by hand' });
    opts.print(`auditstream demo is running — Ctrl-C stops it and everything it started.
  Kinesis emulator   ${emulator.endpoint}  (kinesalite; stream "${STREAM}", ${opts.shards} shards, region ${REGION})
  publisher          POST ${publisherUrl}/v1/events   → emitter "kinesis" (random partition keys)
  collector          GET  ${collectorUrl}/v1/events?type=login   (audit store ${join(root, 'collector', 'audit.db')})
Try, from this directory (the emulator takes any credentials; these are the demo's):
  ${COMMAND_PROMPT}echo '${example}' | ${self} send --url ${publisherUrl}
  ${COMMAND_PROMPT}curl -s '${collectorUrl}/v1/events?type=login&limit=3'
  ${COMMAND_PROMPT}${self} emitters list --url ${publisherUrl}
  ${COMMAND_PROMPT}${awsEnv} ${self} tail --stream ${STREAM} --endpoint ${emulator.endpoint} --region ${REGION} --limit 5
  ${COMMAND_PROMPT}${awsEnv} aws --endpoint-url ${emulator.endpoint} --region ${REGION} kinesis describe-stream-summary --stream-name ${STREAM}
(tail --follow keeps watching.) "published" counts events the publisher acknowledged (queued durably for the stream);
"collected" counts events in the collector's audit store. The difference is in flight — queued at the publisher,
on the stream, or being read — not lost.
generating ${opts.rate} events/s of Foxpass, Blitz and Temporal records…`);

    const publisherEmitter = publisher.emitter('kinesis')!;
    let refused = 0;
    const pending = new Set<Promise<void>>();
    const tickMs = 250;
    const perTick = Math.max(1, Math.round((opts.rate * tickMs) / 1000));
    const generator = setInterval(() => {
      const body = Array.from({ length: perTick }, () => JSON.stringify(sampleRecord())).join('\n');
      const request = fetch(`${publisherUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })
        .then((res) => {
          if (!res.ok) refused += perTick;
          return res.body?.cancel();
        })
        .catch(() => {
          refused += perTick;
        })
        .finally(() => pending.delete(request));
      pending.add(request);
    }, tickMs);
    /**
     * Published: every event the publisher acknowledged (the generator's and any
     * sent by hand), counted where it went — its emitter's queue, the stream,
     * or dead letters. Those published but not collected are in flight, and
     * the publisher's queue and the stream say where.
     */
    const tally = async () => {
      const collected = await store.count();
      const e = publisherEmitter.status();
      const onStream = Math.max(0, e.delivered - collected);
      return { published: e.delivered + e.depth + e.deadLettered, collected, queued: e.depth, onStream, inFlight: e.depth + onStream, deadLettered: e.deadLettered };
    };
    type Tally = Awaited<ReturnType<typeof tally>>;
    const counts = (t: Tally) =>
      `published ${t.published} events${refused ? ` (${refused} refused)` : ''} · collected ${t.collected} into the audit store · ` +
      `${t.inFlight} in flight (${t.queued} queued at the publisher, ${t.onStream} on the stream or being read)${t.deadLettered ? ` · ${t.deadLettered} dead-lettered` : ''}`;
    const reporter = setInterval(() => {
      void tally().then(
        (t) => opts.print(counts(t)),
        (err) => opts.print(`collector store not readable yet: ${errorMessage(err)}`),
      );
    }, 5_000);

    return {
      stop: async (signal?: AbortSignal) => {
        clearInterval(generator);
        clearInterval(reporter);
        await Promise.allSettled([...pending]);
        // Give the events in flight the moment they need to arrive, so that the last count says what it means.
        let last = await tally().catch(() => undefined);
        if (last && last.inFlight > 0 && !signal?.aborted) {
          opts.print(`stopping: waiting up to ${DRAIN_MS / 1000} s for the ${last.inFlight} events in flight to reach the collector (Ctrl-C again stops now)`);
          const deadline = Date.now() + DRAIN_MS;
          while (last && last.inFlight > 0 && Date.now() < deadline && !signal?.aborted) {
            await sleep(250, signal);
            last = await tally().catch(() => last);
          }
        }
        await stopAll();
        const dead = last?.deadLettered ? ` ${last.deadLettered} went to the publisher's dead-letter file (see its emitter's lastError).` : '';
        if (!last) {
          opts.print(`demo stopped; the collector's store could not be read for the last count. Data in ${root}`);
        } else if (last.inFlight === 0) {
          opts.print(`demo stopped: published ${last.published}, collected ${last.collected}: ${dead ? 'nothing was left in flight.' + dead : 'every published event was collected.'} Data in ${root}`);
        } else {
          opts.print(
            `demo stopped: published ${last.published}, collected ${last.collected}: the other ${last.inFlight} were in flight, not lost — ` +
              `${last.queued} still in the publisher's queue on disk, ${last.onStream} on the emulated stream, which ends with the demo ` +
              `(a real stream keeps them for the collector's next start; the next demo starts over empty).${dead} Data in ${root}`,
          );
        }
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
