import { CompressionTypes, Kafka, Partitioners, logLevel, type Admin, type LogEntry, type Message, type Producer, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { encodeEvent } from '../../codecs/codec.js';
import type { AuditEvent } from '../../core/event.js';
import { valueAtPath } from '../../core/field-path.js';
import { abortable } from '../../core/async.js';
import { ConfigError, RetriableError, errorMessage } from '../../core/errors.js';
import type { CheckStep, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from '../sink.js';
import { kafkaSinkSchema, saslCredentials, securityProtocolOf, type KafkaSinkConfig } from './config.js';
import { classifyKafkaError, sizeLimitError } from './errors.js';
import { guardedSocketFactory } from './guarded-socket.js';
import { loadTlsOptions, TlsSettingError } from './tls.js';
import { kafkaSinkProblems } from './type.js';
import { mapTuning, type ProducerTuning } from './tuning.js';

/** The emitter retries with its durable queue and backoff; kafkajs only bridges a leader election. */
const CLIENT_RETRIES = 2;

/**
 * Sends events to a Kafka topic, one message per event. An event counts as
 * delivered only when the broker acknowledged it with acks=all by default
 * (docs/failure-modes.md, row 6): a message in the client's memory is not delivered.
 */
export class KafkaSink implements Sink {
  readonly batch;
  /** With `key`, events of one key keep their queue order, as Kafka keeps them within a partition. */
  readonly partitionKeyOf: ((event: AuditEvent) => string) | undefined;
  private readonly kafka: Kafka;
  private readonly tuning: ProducerTuning;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(
    private readonly config: KafkaSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.tuning = mapTuning(config.tuning);
    this.partitionKeyOf = config.key ? (event) => this.keyOf(event) ?? '' : undefined;
    this.batch = { maxEvents: 1000, maxBytes: this.tuning.batchBytes ?? 512 * 1024, lingerMs: this.tuning.lingerMs ?? 0 };
    const protocol = securityProtocolOf(config);
    let ssl: ConnectionOptions | boolean = false;
    if (protocol.endsWith('SSL')) {
      try {
        ssl = config.ssl ? loadTlsOptions(config.ssl) : true;
      } catch (err) {
        // What reading could find, validate found; this is what only the JKS conversion finds (a key entry's password).
        if (err instanceof TlsSettingError) throw new ConfigError(`${ctx.configPath}.ssl.${err.key}`, err.message);
        throw err;
      }
    }
    const t = this.tuning;
    this.kafka = new Kafka({
      clientId: t.clientId ?? `auditstream-${ctx.emitterName}`,
      brokers: config.bootstrapServers.flatMap((b) => b.split(',')).map((b) => b.trim()),
      ssl,
      ...(ctx.connectGuard ? { socketFactory: guardedSocketFactory(ctx.connectGuard) } : {}),
      ...(config.sasl ? { sasl: this.saslOptions(config.sasl) } : {}),
      ...(t.connectionTimeoutMs ? { connectionTimeout: t.connectionTimeoutMs } : {}),
      ...(t.requestTimeoutMs ? { requestTimeout: t.requestTimeoutMs } : {}),
      retry: { retries: t.retries ?? CLIENT_RETRIES, initialRetryTime: t.retryBackoffMs ?? 250, maxRetryTime: t.retryBackoffMaxMs ?? 5000 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => this.log(entry),
    });
  }

  private saslOptions(sasl: NonNullable<KafkaSinkConfig['sasl']>): SASLOptions {
    const { username, password } = saslCredentials(sasl);
    switch (sasl.mechanism) {
      case 'PLAIN':
        return { mechanism: 'plain', username, password };
      case 'SCRAM-SHA-256':
        return { mechanism: 'scram-sha-256', username, password };
      case 'SCRAM-SHA-512':
        return { mechanism: 'scram-sha-512', username, password };
    }
  }

  private log({ level, log }: LogEntry): void {
    const { message, ...fields } = log;
    const bound = { emitter: this.ctx.emitterName, kafka: fields };
    // kafkajs logs every failed connection attempt as an error; the emitter reports the failure that matters once.
    if (level === logLevel.ERROR || level === logLevel.WARN) this.ctx.logger.warn(bound, message);
    else this.ctx.logger.debug(bound, message);
  }

  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      const t = this.tuning;
      const producer = this.kafka.producer({
        // Java's murmur2 partitioner: the same key lands on the same partition as with Java producers.
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: t.allowAutoTopicCreation,
        idempotent: t.idempotent,
        ...(t.maxInFlightRequests ? { maxInFlightRequests: t.maxInFlightRequests } : {}),
        ...(t.metadataMaxAgeMs ? { metadataMaxAge: t.metadataMaxAgeMs } : {}),
        retry: { retries: t.retries ?? CLIENT_RETRIES, initialRetryTime: t.retryBackoffMs ?? 250, maxRetryTime: t.retryBackoffMaxMs ?? 5000 },
      });
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
      this.producer = producer;
      return producer;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private keyOf(event: AuditEvent): string | undefined {
    const v = valueAtPath(event, this.config.key!);
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  async send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    const messages: Message[] = [];
    /** outcomes[sentAt[i]] belongs to messages[i]. */
    const sentAt: number[] = [];
    for (const event of batch) {
      const value = encodeEvent(event, this.config.codec);
      const key = this.config.key ? this.keyOf(event) : undefined;
      // Record overhead is small; a message near max.request.size would be refused by the broker for the whole batch.
      if (Buffer.byteLength(value) + (key ? Buffer.byteLength(key) : 0) + 512 > this.tuning.maxRequestBytes) {
        outcomes.push({ status: 'rejected', reason: `message larger than max.request.size (${this.tuning.maxRequestBytes} bytes)` });
        continue;
      }
      messages.push({ key: key ?? null, value, headers: { 'auditstream.id': event.id } });
      sentAt.push(outcomes.length);
      outcomes.push({ status: 'delivered' });
    }
    if (messages.length === 0) return outcomes;

    try {
      await this.produce(messages, signal);
    } catch (err) {
      const e = classifyKafkaError(err, `produce to ${this.config.topic}`);
      const tooLarge = sizeLimitError(e);
      // One message over the topic's limit fails the whole request, on every retry: the emitter would be stuck.
      if (!tooLarge) throw e;
      const settled = messages.length === 1 ? [refused(messages[0]!, tooLarge)] : await this.sendOneByOne(messages, signal);
      settled.forEach((o, i) => (outcomes[sentAt[i]!] = o));
    }
    return outcomes;
  }

  private async produce(messages: Message[], signal: AbortSignal): Promise<void> {
    const producer = await abortable(this.connected(), signal, unanswered);
    await abortable(
      producer.send({
        topic: this.config.topic,
        messages,
        acks: this.tuning.acks,
        compression: this.tuning.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        ...(this.tuning.requestTimeoutMs ? { timeout: this.tuning.requestTimeoutMs } : {}),
      }),
      signal,
      unanswered,
    );
  }

  /**
   * After a size error for a batch: sends its messages one at a time, so that
   * only those the broker refuses as too large are rejected (dead-lettered)
   * and the rest are delivered. Any other failure leaves the remaining
   * messages to be retried, or fails the call if nothing was settled yet.
   * Messages of other partitions the failed batch request did deliver are
   * sent again (at least once; their auditstream.id header dedupes).
   */
  private async sendOneByOne(messages: Message[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    for (const message of messages) {
      try {
        await this.produce([message], signal);
        outcomes.push({ status: 'delivered' });
      } catch (err) {
        const e = classifyKafkaError(err, `produce to ${this.config.topic}`);
        const tooLarge = sizeLimitError(e);
        if (tooLarge) {
          outcomes.push(refused(message, tooLarge));
          continue;
        }
        if (outcomes.length === 0) throw e;
        while (outcomes.length < messages.length) outcomes.push({ status: 'retry', reason: e.message });
        break;
      }
    }
    this.ctx.logger.warn(
      { emitter: this.ctx.emitterName, messages: messages.length, rejected: outcomes.filter((o) => o.status === 'rejected').length },
      'a batch was refused as too large; sent its messages one by one',
    );
    return outcomes;
  }

  async check(signal: AbortSignal): Promise<CheckStep[]> {
    const steps: CheckStep[] = [];
    const brokers = this.config.bootstrapServers.join(',');
    const admin: Admin = this.kafka.admin({ retry: { retries: 1 } });
    try {
      try {
        await abortable(admin.connect(), signal, unanswered);
        steps.push({ step: `connect to ${brokers}`, ok: true, detail: '' });
      } catch (err) {
        steps.push({ step: `connect to ${brokers}`, ok: false, detail: classifyKafkaError(err, 'connect').message });
        return steps;
      }
      // listTopics asks for every topic's metadata, which never auto-creates the one we are looking for.
      const topics = await abortable(admin.listTopics(), signal, unanswered).catch((err: unknown) => err as Error);
      if (topics instanceof Error) {
        steps.push({ step: `find topic ${this.config.topic}`, ok: false, detail: classifyKafkaError(topics, 'list topics').message });
        return steps;
      }
      if (!topics.includes(this.config.topic)) {
        const known = topics.filter((t) => !t.startsWith('__')).sort();
        steps.push({
          step: `find topic ${this.config.topic}`,
          ok: false,
          detail: `topic "${this.config.topic}" does not exist (topics: ${known.slice(0, 20).join(', ') || 'none'}${known.length > 20 ? ', …' : ''})`,
        });
        return steps;
      }
      steps.push({ step: `find topic ${this.config.topic}`, ok: true, detail: '' });
      try {
        const meta = await abortable(admin.fetchTopicMetadata({ topics: [this.config.topic] }), signal, unanswered);
        const partitions = meta.topics[0]?.partitions ?? [];
        const leaderless = partitions.filter((p) => p.leader < 0).map((p) => p.partitionId);
        steps.push({
          step: `partitions of ${this.config.topic} have leaders`,
          ok: leaderless.length === 0,
          detail: leaderless.length ? `no leader for partition(s) ${leaderless.join(', ')}` : `${partitions.length} partition(s)`,
        });
      } catch (err) {
        steps.push({ step: `partitions of ${this.config.topic} have leaders`, ok: false, detail: classifyKafkaError(err, 'describe topic').message });
      }
      return steps;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const producer = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    await producer?.disconnect();
  }
}

/** The outcome of a message the broker refused as too large: its size and the setting that limits it. */
function refused(message: Message, tooLarge: { type: string; limit: string }): DeliveryOutcome {
  const bytes = Buffer.byteLength(message.value ?? '') + Buffer.byteLength(message.key ?? '');
  return { status: 'rejected', reason: `message of ${bytes} bytes (key + value) refused by the broker as ${tooLarge.type}: over ${tooLarge.limit}` };
}


/** kafkajs calls take no AbortSignal: on abort we stop waiting, the outcome is unknown and the events stay queued. */
function unanswered(reason: unknown): RetriableError {
  return new RetriableError(`aborted before the broker answered: ${errorMessage(reason)}`);
}

export const kafkaSinkDefinition: SinkDefinition<KafkaSinkConfig> = {
  type: 'kafka',
  schema: kafkaSinkSchema,
  validate: kafkaSinkProblems,
  create: (config, ctx) => new KafkaSink(config, ctx),
};
