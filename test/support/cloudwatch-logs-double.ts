/**
 * A local CloudWatch Logs double: no CloudWatch Logs emulator exists among
 * the services available here, so this speaks the JSON 1.1 protocol
 * (`X-Amz-Target: Logs_20140328.<Operation>`) for exactly the calls the
 * cloudwatch-export source makes — DescribeLogGroups, CreateExportTask,
 * DescribeExportTasks — over log events held in memory. An export task goes
 * PENDING → RUNNING → COMPLETED after short delays and writes what AWS
 * writes into a real S3 server (s3rver): `<prefix>/aws-logs-write-test`, then
 * per log stream `<prefix>/<taskId>/<stream>/000000.gz`, gzip text lines
 * `<ISO time> <message>`, for events with from <= timestamp <= to. As in
 * AWS, one task per account may be PENDING or RUNNING: another
 * CreateExportTask gets LimitExceededException.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface LogEvent {
  timestamp: number;
  message: string;
}

export interface DoubleTask {
  taskId: string;
  taskName: string;
  logGroupName: string;
  from: number;
  to: number;
  destination: string;
  destinationPrefix: string;
  status: { code: string; message?: string };
  executionInfo: { creationTime: number; completionTime?: number };
}

export interface CloudWatchLogsDouble {
  endpoint: string;
  /** Adds events to a stream, creating the group and stream as needed. */
  putEvents(group: string, stream: string, events: LogEvent[]): void;
  readonly tasks: readonly DoubleTask[];
  /** The most tasks PENDING or RUNNING at once so far. */
  readonly maxActive: number;
  /** CreateExportTask calls answered with LimitExceededException. */
  readonly limitExceeded: number;
  /** The next task created ends FAILED without writing objects, as one whose bucket policy broke would. */
  failNextTask(): void;
  /** A task the test starts as another user of the account would; it holds the one slot until `release` is called. */
  holdSlot(): { release(): void };
}

const ACTIVE = new Set(['PENDING', 'RUNNING']);

export async function startCloudWatchLogsDouble(t: TestContext, s3: S3Client, opts: { stepMs?: number } = {}): Promise<CloudWatchLogsDouble> {
  const stepMs = opts.stepMs ?? 100;
  const groups = new Map<string, { creationTime: number; streams: Map<string, LogEvent[]> }>();
  const tasks: DoubleTask[] = [];
  let maxActive = 0;
  let limitExceeded = 0;
  let failNext = false;
  const timers = new Set<NodeJS.Timeout>();
  // Exports under way: the test's end waits for them, so no write lands in s3rver's directory as it is removed.
  const running = new Set<Promise<void>>();
  const later = (ms: number, fn: () => void | Promise<void>) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const run = Promise.resolve(fn()).finally(() => running.delete(run));
      running.add(run);
    }, ms);
    timers.add(timer);
  };
  const active = () => tasks.filter((x) => ACTIVE.has(x.status.code)).length;

  async function runExport(task: DoubleTask, fail: boolean): Promise<void> {
    task.status = { code: 'RUNNING' };
    try {
      if (fail) throw new Error('Access Denied writing to the destination');
      await s3.send(new PutObjectCommand({ Bucket: task.destination, Key: `${task.destinationPrefix}/aws-logs-write-test`, Body: 'Permission Check Successful' }));
      const streams = groups.get(task.logGroupName)?.streams ?? new Map<string, LogEvent[]>();
      for (const [stream, events] of streams) {
        const lines = events.filter((e) => e.timestamp >= task.from && e.timestamp <= task.to).map((e) => `${new Date(e.timestamp).toISOString()} ${e.message}\n`);
        if (lines.length === 0) continue;
        await s3.send(new PutObjectCommand({ Bucket: task.destination, Key: `${task.destinationPrefix}/${task.taskId}/${stream}/000000.gz`, Body: gzipSync(lines.join('')) }));
      }
      later(stepMs, () => {
        task.status = { code: 'COMPLETED', message: 'Completed successfully' };
        task.executionInfo.completionTime = Date.now();
      });
    } catch (err) {
      task.status = { code: 'FAILED', message: (err as Error).message };
      task.executionInfo.completionTime = Date.now();
    }
  }

  type Handler = (body: Record<string, any>) => { status?: number; body: unknown };
  const fault = (type: string, message: string) => ({ status: 400, body: { __type: type, message } });
  const page = <T>(items: T[], body: Record<string, any>) => {
    const start = Number(body.nextToken ?? 0);
    const limit = Number(body.limit ?? 50);
    const next = start + limit < items.length ? String(start + limit) : undefined;
    return { items: items.slice(start, start + limit), nextToken: next };
  };

  const handlers: Record<string, Handler> = {
    DescribeLogGroups(body) {
      const names = [...groups.keys()].filter((n) => !body.logGroupNamePrefix || n.startsWith(body.logGroupNamePrefix)).sort();
      const { items, nextToken } = page(names, body);
      return { body: { logGroups: items.map((n) => ({ logGroupName: n, creationTime: groups.get(n)!.creationTime, arn: `arn:aws:logs:us-east-1:123456789012:log-group:${n}:*` })), nextToken } };
    },
    CreateExportTask(body) {
      for (const key of ['logGroupName', 'from', 'to', 'destination'] as const) {
        if (body[key] === undefined) return fault('InvalidParameterException', `${key} is required`);
      }
      if (body.from > body.to) return fault('InvalidParameterException', 'from must not be after to');
      if (!groups.has(body.logGroupName)) return fault('ResourceNotFoundException', `The specified log group does not exist: ${body.logGroupName}`);
      if (active() > 0) {
        limitExceeded++;
        return fault('LimitExceededException', 'Resource limit exceeded.');
      }
      const task: DoubleTask = {
        taskId: randomUUID(),
        taskName: body.taskName ?? '',
        logGroupName: body.logGroupName,
        from: body.from,
        to: body.to,
        destination: body.destination,
        destinationPrefix: body.destinationPrefix ?? 'exportedlogs',
        status: { code: 'PENDING' },
        executionInfo: { creationTime: Date.now() },
      };
      tasks.push(task);
      maxActive = Math.max(maxActive, active());
      const fail = failNext;
      failNext = false;
      later(stepMs, () => runExport(task, fail));
      return { body: { taskId: task.taskId } };
    },
    DescribeExportTasks(body) {
      const matching = tasks.filter((x) => (!body.taskId || x.taskId === body.taskId) && (!body.statusCode || x.status.code === body.statusCode));
      const { items, nextToken } = page(matching, body);
      return { body: { exportTasks: items, nextToken } };
    },
  };

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const op = String(req.headers['x-amz-target'] ?? '').replace(/^Logs_20140328\./, '');
    const handler = handlers[op];
    let out: { status?: number; body: unknown };
    if (!handler) out = fault('UnknownOperationException', `the double does not implement ${op || '(no X-Amz-Target)'}`);
    else {
      try {
        out = handler(JSON.parse(raw || '{}'));
      } catch (err) {
        out = fault('SerializationException', (err as Error).message);
      }
    }
    res.writeHead(out.status ?? 200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(out.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const timer of timers) clearTimeout(timer);
    await Promise.allSettled([...running]);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    putEvents(group, stream, events) {
      if (!groups.has(group)) groups.set(group, { creationTime: Date.now(), streams: new Map() });
      const streams = groups.get(group)!.streams;
      streams.set(stream, [...(streams.get(stream) ?? []), ...events]);
    },
    get tasks() {
      return tasks;
    },
    get maxActive() {
      return maxActive;
    },
    get limitExceeded() {
      return limitExceeded;
    },
    failNextTask() {
      failNext = true;
    },
    holdSlot() {
      const task: DoubleTask = {
        taskId: randomUUID(),
        taskName: 'someone-else',
        logGroupName: '(other)',
        from: 0,
        to: 0,
        destination: '(other)',
        destinationPrefix: '(other)',
        status: { code: 'RUNNING' },
        executionInfo: { creationTime: Date.now() },
      };
      tasks.push(task);
      maxActive = Math.max(maxActive, active());
      return {
        release() {
          task.status = { code: 'COMPLETED' };
        },
      };
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
