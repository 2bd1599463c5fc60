/**
 * A test double for the one Kinesis behaviour no emulator here has: per-shard
 * write quotas. It is an HTTP proxy in front of a real emulator (kinesalite)
 * that keeps a token bucket per shard (records/s) and, like Kinesis, answers
 * PutRecords entries over the quota with ErrorCode
 * ProvisionedThroughputExceededException (forwarding only the admitted entries
 * and merging the results back in request order) and a whole PutRecord over
 * the quota with HTTP 400. Everything else passes through unchanged.
 * Emulators do not verify signatures, so rewriting a signed body is fine here.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { Shard } from '@aws-sdk/client-kinesis';
import { emulatorClient, listAllShards } from './kinesis-emulators.js';

export interface ThrottlingProxyOptions {
  /** The emulator to forward to, e.g. http://127.0.0.1:4567 */
  upstream: string;
  /** Per shard; Kinesis' real quota is 1000. May be fractional (0.5 = one record every 2 s). */
  recordsPerSecPerShard: number;
  /**
   * Throttle the first N entries each shard receives whatever the quota: a
   * deterministic failure for tests whose sender paces itself below any
   * quota a test could set in real time.
   */
  throttleFirstPerShard?: number;
}

export interface ThrottlingProxy {
  endpoint: string;
  /** PutRecords entries and PutRecord calls answered with ProvisionedThroughputExceededException. */
  readonly throttled: number;
  /** Entries forwarded to the emulator. */
  readonly forwarded: number;
  /** Every request seen: its X-Amz-Target operation and the access key it was signed with. */
  readonly requests: readonly { operation: string; accessKeyId: string | undefined }[];
}

interface PutEntry {
  Data: string;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

const THROTTLED = {
  ErrorCode: 'ProvisionedThroughputExceededException',
  ErrorMessage: 'Rate exceeded for shard in stream under account 000000000000 (test throttling proxy).',
};

export async function startThrottlingProxy(t: TestContext, opts: ThrottlingProxyOptions): Promise<ThrottlingProxy> {
  const upstream = new URL(opts.upstream);
  const client = emulatorClient(opts.upstream);
  const shardsByStream = new Map<string, Shard[]>();
  const buckets = new Map<string, { tokens: number; last: number }>();
  const requests: { operation: string; accessKeyId: string | undefined }[] = [];
  let throttled = 0;
  let forwarded = 0;

  /** `now` is the request's arrival: Kinesis judges a whole PutRecords against the quota at one instant. */
  const seenPerShard = new Map<string, number>();
  const admit = (shardId: string, now: number): boolean => {
    const seen = (seenPerShard.get(shardId) ?? 0) + 1;
    seenPerShard.set(shardId, seen);
    if (seen <= (opts.throttleFirstPerShard ?? 0)) return false;
    const rate = opts.recordsPerSecPerShard;
    // A quota under 1 record/s still lets one record through now and then.
    const burst = Math.max(rate, 1);
    const b = buckets.get(shardId) ?? { tokens: burst, last: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.last) / 1000) * rate);
    b.last = now;
    buckets.set(shardId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };

  const shardOf = async (stream: string, e: PutEntry): Promise<string> => {
    let shards = shardsByStream.get(stream);
    if (!shards) {
      shards = (await listAllShards(client, stream)).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber);
      shardsByStream.set(stream, shards);
    }
    const hash = e.ExplicitHashKey
      ? BigInt(e.ExplicitHashKey)
      : BigInt(`0x${createHash('md5').update(e.PartitionKey, 'utf8').digest('hex')}`);
    const shard = shards.find((s) => BigInt(s.HashKeyRange!.StartingHashKey!) <= hash && hash <= BigInt(s.HashKeyRange!.EndingHashKey!));
    return shard?.ShardId ?? 'unknown';
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      const up = httpRequest(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && k !== 'content-length') h[k] = v;
            resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    requests.push({ operation, accessKeyId });
    const send = (status: number, headers: Record<string, string>, payload: Buffer) => {
      res.writeHead(status, { ...headers, 'content-length': String(payload.length) });
      res.end(payload);
    };
    const json = (status: number, value: unknown) => send(status, { 'content-type': 'application/x-amz-json-1.1' }, Buffer.from(JSON.stringify(value)));
    try {
      if (operation === 'PutRecords') {
        const input = JSON.parse(body.toString('utf8')) as { StreamName: string; Records: PutEntry[] };
        const admitted: number[] = [];
        const arrival = Date.now();
        for (const [i, e] of input.Records.entries()) if (admit(await shardOf(input.StreamName, e), arrival)) admitted.push(i);
        throttled += input.Records.length - admitted.length;
        forwarded += admitted.length;
        const results: unknown[] = input.Records.map(() => THROTTLED);
        let failed = input.Records.length - admitted.length;
        if (admitted.length > 0) {
          const up = await forward(req, Buffer.from(JSON.stringify({ ...input, Records: admitted.map((i) => input.Records[i]) })));
          if (up.status !== 200) return send(up.status, up.headers, up.body);
          const out = JSON.parse(up.body.toString('utf8')) as { Records: unknown[]; FailedRecordCount?: number };
          admitted.forEach((orig, j) => (results[orig] = out.Records[j]));
          failed += out.FailedRecordCount ?? 0;
        }
        return json(200, { FailedRecordCount: failed, Records: results });
      }
      if (operation === 'PutRecord') {
        const input = JSON.parse(body.toString('utf8')) as PutEntry & { StreamName: string };
        if (!admit(await shardOf(input.StreamName, input), Date.now())) {
          throttled++;
          return json(400, { __type: 'ProvisionedThroughputExceededException', message: THROTTLED.ErrorMessage });
        }
        forwarded++;
      }
      const up = await forward(req, body);
      send(up.status, up.headers, up.body);
    } catch (err) {
      json(500, { __type: 'InternalFailure', message: `throttling proxy: ${String(err)}` });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get throttled() {
      return throttled;
    },
    get forwarded() {
      return forwarded;
    },
    requests,
  };
}
