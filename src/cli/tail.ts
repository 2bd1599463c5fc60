/**
 * `auditstream tail`: print what a Kinesis stream holds, one user record per
 * line, unwrapping what producers wrap records in — KPL aggregation, gzip
 * (CloudWatch Logs subscription envelopes), base64 text — so an operator can
 * see what the emitter wrote or what a collector will read.
 */
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import type { StaticCredentials } from '../aws/connection-config.js';
import { classifyAwsError } from '../aws/errors.js';
import { sleep } from '../core/async.js';
import { FatalError } from '../core/errors.js';
import { isCloudWatchEnvelope } from '../formats/containers/cloudwatch-logs.js';
import { deaggregate, KPL_MAGIC } from '../formats/containers/kpl.js';

export interface TailOptions {
  stream: string;
  region: string;
  endpoint?: string;
  /** Absent: the default AWS chain (AWS_ACCESS_KEY_ID…, profile, instance role). */
  credentials?: StaticCredentials;
  roleArn?: string;
  externalId?: string;
  from: 'trim_horizon' | 'latest';
  /** Stop after this many lines. */
  limit?: number;
  /** Keep waiting for new records instead of stopping at the end of every shard. */
  follow: boolean;
  /** Print a CloudWatch Logs envelope as its JSON instead of one line per log event. */
  envelope: boolean;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const BASE64_TEXT = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;
/** GetRecords allows 5 calls/s per shard; an idle shard is polled at most once a second. */
const IDLE_POLL_MS = 1_000;
const RESCAN_SHARDS_MS = 30_000;

/**
 * The lines one Kinesis record holds: a KPL aggregate yields its user records,
 * gzip is inflated, a CloudWatch Logs envelope yields its log messages, and
 * base64 text is decoded when it hides one of those or JSON. Trailing
 * newlines are dropped: each record is one line of output.
 */
export function unpackRecord(data: Buffer, opts: { envelope?: boolean } = {}): string[] {
  const inner = deaggregate(data);
  if (inner) return inner.flatMap((u) => unpackRecord(u.data, opts));
  if (startsWith(data, GZIP_MAGIC)) return unpackRecord(gunzipSync(data), opts);
  const text = data.toString('utf8');
  if (BASE64_TEXT.test(text) && text.trim().length % 4 === 0) {
    const decoded = Buffer.from(text, 'base64');
    if (startsWith(decoded, GZIP_MAGIC) || startsWith(decoded, KPL_MAGIC) || isJson(decoded.toString('utf8'))) return unpackRecord(decoded, opts);
  }
  if (!opts.envelope && text.trimStart().startsWith('{')) {
    try {
      const value: unknown = JSON.parse(text);
      if (isCloudWatchEnvelope(value)) {
        const events = (value as { logEvents?: { message?: unknown }[] }).logEvents ?? [];
        return events.map((e) => String(e.message ?? '').replace(/\n+$/, ''));
      }
    } catch {
      // Not JSON after all: printed as text below.
    }
  }
  if (!isUtf8(data)) return [`base64:${data.toString('base64')}`];
  return text
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.subarray(0, prefix.length).equals(prefix);
}

function isJson(s: string): boolean {
  const t = s.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads every shard (round-robin) and hands each line to `write`. Resolves
 * with the number of lines written once every shard is caught up (without
 * `follow`), the limit is reached, or `signal` aborts.
 */
export async function tailStream(opts: TailOptions, write: (line: string) => void, signal?: AbortSignal): Promise<number> {
  // Loaded here: every command, `serve` too, imports this module to register `tail`, and only `tail` needs the SDK.
  const [{ GetRecordsCommand, GetShardIteratorCommand, KinesisClient }, { awsClientConfig }, { listAllShards }] = await Promise.all([
    import('@aws-sdk/client-kinesis'),
    import('../aws/client.js'),
    import('../aws/kinesis.js'),
  ]);
  const client = new KinesisClient(
    awsClientConfig({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.roleArn ? { roleArn: opts.roleArn } : {}),
      ...(opts.externalId ? { externalId: opts.externalId } : {}),
      maxAttempts: 3,
    }),
  );
  const what = `stream ${opts.stream} in ${opts.region}`;
  const iterators = new Map<string, string | undefined>();
  const caughtUp = new Set<string>();
  let written = 0;
  let scannedAt = -Infinity;
  const limit = opts.limit ?? Infinity;

  const scanShards = async () => {
    const shards = await listAllShards(client, { StreamName: opts.stream }, signal);
    const first = scannedAt === -Infinity;
    for (const s of shards) {
      if (iterators.has(s.ShardId!)) continue;
      // Shards born after the tail started (a reshard) are read from their start.
      const type = first && opts.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON';
      const res = await client.send(
        new GetShardIteratorCommand({ StreamName: opts.stream, ShardId: s.ShardId!, ShardIteratorType: type }),
        { abortSignal: signal },
      );
      iterators.set(s.ShardId!, res.ShardIterator);
    }
    scannedAt = Date.now();
  };

  try {
    await scanShards();
    while (written < limit && !signal?.aborted) {
      if (opts.follow && Date.now() - scannedAt > RESCAN_SHARDS_MS) await scanShards();
      let gotAny = false;
      for (const [shardId, iterator] of iterators) {
        if (!iterator || written >= limit) continue;
        const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }), { abortSignal: signal });
        iterators.set(shardId, res.NextShardIterator);
        const records = res.Records ?? [];
        if (records.length > 0) gotAny = true;
        if (records.length === 0 && (res.MillisBehindLatest ?? 0) === 0) caughtUp.add(shardId);
        for (const r of records) {
          for (const line of unpackRecord(Buffer.from(r.Data ?? new Uint8Array()), opts)) {
            if (written >= limit) break;
            write(line);
            written++;
          }
        }
      }
      const open = [...iterators].filter(([, it]) => it !== undefined);
      const allDone = open.every(([id]) => caughtUp.has(id));
      if (!opts.follow && allDone) break;
      if (!gotAny) await sleep(IDLE_POLL_MS, signal);
    }
    return written;
  } catch (err) {
    if (signal?.aborted) return written;
    throw classifyAwsError(err, `tail ${what}`);
  } finally {
    client.destroy();
  }
}

interface TailCliOptions {
  stream: string;
  region?: string;
  endpoint?: string;
  roleArn?: string;
  externalId?: string;
  from: string;
  limit?: string;
  follow?: boolean;
  envelope?: boolean;
}

export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description('print the records of a Kinesis stream, one line each, unpacking KPL aggregation, gzip/CloudWatch Logs envelopes and base64')
    .requiredOption('--stream <name>', 'Kinesis stream name')
    .option('--region <region>', 'AWS region (default: $AWS_REGION, else us-east-1)')
    .option('--endpoint <url>', 'Kinesis endpoint, e.g. an emulator at http://127.0.0.1:4567')
    .option('--role-arn <arn>', 'assume this IAM role first')
    .option('--external-id <id>', 'external ID for --role-arn')
    .option('--from <position>', 'trim_horizon (oldest record) or latest (only new records)', 'trim_horizon')
    .option('--limit <n>', 'stop after N lines')
    .option('--follow', 'keep waiting for new records')
    .option('--envelope', 'print CloudWatch Logs envelopes as JSON instead of one line per log event')
    .action(async (o: TailCliOptions) => {
      if (o.from !== 'trim_horizon' && o.from !== 'latest') throw new Error(`--from must be trim_horizon or latest, got "${o.from}"`);
      let limit: number | undefined;
      if (o.limit !== undefined) {
        limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive whole number, got "${o.limit}"`);
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await tailStream(
          {
            stream: o.stream,
            region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
            ...(o.endpoint ? { endpoint: o.endpoint } : {}),
            ...(o.roleArn ? { roleArn: o.roleArn } : {}),
            ...(o.externalId ? { externalId: o.externalId } : {}),
            from: o.from,
            ...(limit !== undefined ? { limit } : {}),
            follow: o.follow === true,
            envelope: o.envelope === true,
          },
          (line) => process.stdout.write(`${line}\n`),
          abort.signal,
        );
      } catch (err) {
        throw withCredentialsHint(err, o.endpoint);
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
    });
}

/** "Could not load credentials" says nothing of where credentials come from, nor that an emulator takes any. */
function withCredentialsHint(err: unknown, endpoint: string | undefined): unknown {
  if (!(err instanceof FatalError) || err.code !== 'CredentialsProviderError') return err;
  const hint = endpoint
    ? 'an emulator at --endpoint takes any credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to any values'
    : 'give them the AWS SDK way: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance or task role (then --role-arn to assume another)';
  return new FatalError(`${err.message}; ${hint}`, { cause: err, code: err.code });
}
