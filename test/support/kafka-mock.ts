import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, 'kafka-mock.c');
const CACHE = join(here, '..', '..', 'node_modules', '.cache', 'auditstream', 'kafka-mock');

/** One message as kcat -J prints it. */
export interface KafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
}

export interface KafkaMock {
  /** host:port of every broker, for `bootstrapServers`. */
  bootstrapServers: string[];
  createTopic(name: string, partitions?: number): Promise<void>;
  /** Takes broker `id` (1-based) down: it drops connections and refuses new ones until `brokerUp`. */
  brokerDown(id?: number): Promise<void>;
  brokerUp(id?: number): Promise<void>;
  /**
   * The next Produce requests (cluster-wide, one per code, in order) are
   * answered with these Kafka error codes; 0 lets a request through. The mock
   * enforces no message size limit, so e.g. 10 (MESSAGE_TOO_LARGE) stands in
   * for a topic whose max.message.bytes is below a message.
   */
  failProduce(...codes: number[]): Promise<void>;
  /** Every message in `topic`, read by kcat, an independent client (librdkafka). */
  readAll(topic: string): Promise<KafkaMessage[]>;
  stop(): Promise<void>;
}

/**
 * Compiles test/support/kafka-mock.c once per source version (needs Debian
 * librdkafka-dev) into node_modules/.cache, so the suite needs no JVM broker.
 */
async function mockBinary(): Promise<string> {
  const source = await readFile(SOURCE);
  const bin = join(CACHE, `kafka-mock-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) {
    throw new Error('the Kafka tests need librdkafka-dev and kcat: apt-get install -y librdkafka-dev kcat');
  }
  await mkdir(CACHE, { recursive: true });
  // Compile to a private name, then rename: parallel test files may race to build it.
  const tmp = `${bin}.${process.pid}.tmp`;
  await run('cc', ['-O2', '-Wall', '-o', tmp, SOURCE, '-lrdkafka']);
  await rename(tmp, bin);
  return bin;
}

/** Starts a librdkafka mock cluster with `topics` (name → partitions), stopped when the test ends. */
export async function startKafkaMock(t: TestContext, opts: { brokers?: number; topics?: Record<string, number> } = {}): Promise<KafkaMock> {
  const bin = await mockBinary();
  const topicArgs = Object.entries(opts.topics ?? {}).map(([name, n]) => `${name}:${n}`);
  const child = spawn(bin, [String(opts.brokers ?? 1), ...topicArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);

  const lines = createInterface({ input: child.stdout });
  const pending: ((line: string) => void)[] = [];
  let first: ((line: string) => void) | undefined;
  lines.on('line', (line) => (first ? (first(line), (first = undefined)) : pending.shift()?.(line)));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    first = resolve;
    child.once('exit', (code) => reject(new Error(`kafka-mock exited with ${code}: ${stderr}`)));
  });

  const command = (cmd: string) =>
    new Promise<void>((resolve, reject) => {
      pending.push((answer) => (answer === 'ok' ? resolve() : reject(new Error(`kafka-mock ${cmd}: ${answer}`))));
      child.stdin.write(`${cmd}\n`);
    });

  return {
    bootstrapServers: bootstrap.split(','),
    createTopic: (name, partitions = 1) => command(`topic ${name} ${partitions}`),
    brokerDown: (id = 1) => command(`down ${id}`),
    brokerUp: (id = 1) => command(`up ${id}`),
    failProduce: (...codes) => command(`produce-errors ${codes.join(' ')}`),
    async readAll(topic) {
      const { stdout } = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-J', '-q'], { maxBuffer: 256 * 1024 * 1024 });
      const messages = stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as KafkaMessage);
      return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    },
    stop,
  };
}
