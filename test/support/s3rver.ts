import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { tempDir } from './temp.js';

/** s3rver accepts exactly this key pair; any other access key gets InvalidAccessKeyId. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rver {
  endpoint: string;
  /** A client for the test's own setup and read-back (independent of the code under test). */
  client: S3Client;
  process: ChildProcess;
  /** What s3rver logged so far, one entry a line, e.g. `Stored part 1 of <uploadId> in bucket "b" successfully`. */
  requests(): string[];
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: string | Uint8Array): Promise<void>;
  get(bucket: string, key: string): Promise<Buffer>;
  /** Every key in the bucket (under `prefix`), in S3 key order. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver as a child process on a free port with its own data directory,
 * so a test can kill it (connection refused) the way a real outage looks.
 */
export async function startS3rver(t: TestContext): Promise<S3rver> {
  const dir = await tempDir(t, 's3rver-');
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy
  // provider: without it, every truncated listing (MaxKeys below the object count) is a 500.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', join(dir, 'data'), '-a', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stopped = false;
  const stop = async () => {
    if (stopped || child.exitCode !== null) return;
    stopped = true;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);

  const log: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString().replace(/\x1b\[[0-9;]*m/g, '');
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const m = /listening on [^:]+:(\d+)/.exec(line);
        if (m) resolve(Number(m[1]));
        else if (line.startsWith('info: ')) log.push(line.slice(6));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${err}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    // A copy: the SDK tags the object it is given with a $source field.
    credentials: { ...S3RVER_CREDENTIALS },
    requestHandler: new NodeHttpHandler(),
  });
  t.after(() => client.destroy());

  return {
    endpoint,
    client,
    process: child,
    requests: () => [...log],
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async get(bucket, key) {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    async keys(bucket, prefix) {
      const out: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
        for (const o of page.Contents ?? []) out.push(o.Key!);
      }
      return out;
    },
    stop,
  };
}
