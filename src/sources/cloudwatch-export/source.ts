import { join } from 'node:path';
import {
  CloudWatchLogsClient,
  CreateExportTaskCommand,
  DescribeExportTasksCommand,
  paginateDescribeLogGroups,
  type ExportTask,
} from '@aws-sdk/client-cloudwatch-logs';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig } from '../../aws/client.js';
import { awsErrorName, classifyAwsError } from '../../aws/errors.js';
import { createS3Client } from '../../aws/s3-client.js';
import { sleep } from '../../core/async.js';
import { FatalError } from '../../core/errors.js';
import { ObjectReader } from '../s3/object-reader.js';
import type { Publisher, Source, SourceContext, SourceDefinition } from '../source.js';
import { cloudWatchExportSourceSchema, type CloudWatchExportSourceConfig } from './config.js';
import { CloudWatchExportState, type ExportTaskRow } from './state.js';

/** What one step of the loop leads to: go on at once, or wait a poll interval. */
type Step = 'again' | 'wait';

/**
 * Exports CloudWatch Logs groups to S3 window by window and publishes what
 * the exports hold. CloudWatch Logs runs one export task per account at a
 * time, so the source runs one for all its groups, taking the group furthest
 * behind first. A window advances only once every event of its export was
 * acknowledged; a failed or cancelled task exports the same window again.
 * Event ids derive from the group, window and object, so a window read again
 * after a crash dedupes.
 */
export class CloudWatchExportSource implements Source {
  private readonly logs: CloudWatchLogsClient;
  private readonly s3: S3Client;
  private readonly state: CloudWatchExportState;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private nextDiscoveryAt = 0;
  /** Groups CreateExportTask refused for good (deleted, no permission) until the next discovery. */
  private readonly refused = new Map<string, string>();
  private taskStatus: string | undefined;
  private lastError: { message: string; at: string } | undefined;
  private stats = { discoveries: 0, tasksCreated: 0, tasksFailed: 0, limitWaits: 0, windowsDone: 0 };
  private readonly reader: ObjectReader;

  constructor(
    readonly name: string,
    private readonly config: CloudWatchExportSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    const region = config.region ?? process.env.AWS_REGION ?? 'us-east-1';
    this.state = new CloudWatchExportState(join(ctx.dataDir, 'sources', name));
    this.logs = new CloudWatchLogsClient(awsClientConfig({ ...config, region }));
    const { endpoint: _logsEndpoint, s3Endpoint, ...connection } = config;
    this.s3 = createS3Client({ ...connection, ...(s3Endpoint ? { endpoint: s3Endpoint } : {}) });
    this.reader = new ObjectReader({
      sourceName: name,
      ctx,
      client: this.s3,
      publishChunk: config.publishChunk,
      deleteRetryMs: config.pollEverySec * 1000,
      undeletedObjects: this.state,
      onError: (message) => (this.lastError = { message, at: new Date().toISOString() }),
    });
  }

  async start(publisher: Publisher): Promise<void> {
    this.loop ??= this.run(publisher);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.logs.destroy();
    this.s3.destroy();
    this.state.close();
  }

  status(): Record<string, unknown> {
    const now = Date.now();
    const task = this.state.task();
    return {
      bucket: this.config.bucket,
      prefix: this.config.prefix,
      groups: this.state.groups().filter((g) => this.configured(g.group)).map((g) => ({
        name: g.group,
        exportedUntil: new Date(g.nextFromMs).toISOString(),
        lagSec: Math.max(0, Math.round((now - g.nextFromMs) / 1000)),
        ...(this.refused.has(g.group) ? { refused: this.refused.get(g.group) } : {}),
      })),
      runningTask: task
        ? {
            taskId: task.taskId,
            group: task.group,
            from: new Date(task.fromMs).toISOString(),
            to: new Date(task.toMs).toISOString(),
            status: this.taskStatus ?? null,
            objectsDone: this.state.objectsDone(),
          }
        : null,
      ...this.stats,
      ...this.reader.stats,
      undeleted: this.state.undeletedCount(),
      lastError: this.lastError ?? null,
    };
  }

  private async run(publisher: Publisher): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      // A failed discovery waits for the next one rather than holding back the groups already known.
      if (Date.now() >= this.nextDiscoveryAt) await this.attempt(() => this.discover(signal), 'log group discovery', signal);
      if (this.config.deleteAfterAck) await this.attempt(() => this.retryDeletes(signal), 'delete retry', signal);
      const next = await this.attempt(() => this.step(publisher, signal), 'export step', signal);
      if (next !== 'again') await sleep(this.config.pollEverySec * 1000, signal);
    }
  }

  private async attempt<T>(work: () => Promise<T>, what: string, signal: AbortSignal): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      if (signal.aborted) return undefined;
      const e = classifyAwsError(err, `cloudwatch-export ${this.name}: ${what}`);
      this.noteError(e.message, 'request_failed', 'receiving');
      this.ctx.logger.warn({ source: this.name, err: e.message }, `CloudWatch export source: ${what} failed; retrying at the next poll`);
      return undefined;
    }
  }

  private async discover(signal: AbortSignal): Promise<void> {
    this.nextDiscoveryAt = Date.now() + this.config.discoverEverySec * 1000;
    const startMs = this.config.startAt === 'now' ? Date.now() : Date.parse(this.config.startAt);
    const found = [...(this.config.logGroups ?? [])];
    if (this.config.logGroupPrefix) {
      const pages = paginateDescribeLogGroups({ client: this.logs }, { logGroupNamePrefix: this.config.logGroupPrefix });
      for await (const page of pages) {
        if (signal.aborted) return;
        for (const g of page.logGroups ?? []) if (g.logGroupName) found.push(g.logGroupName);
      }
    }
    for (const group of found) {
      if (this.state.addGroup(group, startMs)) this.ctx.logger.info({ source: this.name, group, from: new Date(startMs).toISOString() }, 'log group found');
    }
    this.refused.clear();
    this.stats.discoveries++;
  }

  private async step(publisher: Publisher, signal: AbortSignal): Promise<Step> {
    const task = this.state.task();
    if (!task) return this.createTask(signal);
    if (task.taskId === null) return this.adoptOrCreate(task, signal);
    const found = await this.describe(task.taskId, signal);
    const code = found?.status?.code ?? 'GONE';
    this.taskStatus = code;
    switch (code) {
      case 'COMPLETED':
        return (await this.readExport(task, publisher, signal)) ? 'again' : 'wait';
      case 'FAILED':
      case 'CANCELLED':
      case 'GONE':
        this.stats.tasksFailed++;
        this.state.abandonTask();
        this.taskStatus = undefined;
        this.noteError(`export task ${task.taskId} of ${task.group} ended ${code}${found?.status?.message ? `: ${found.status.message}` : ''}; exporting the window again`, 'export_failed', 'receiving');
        return 'again';
      default:
        return 'wait';
    }
  }

  /** The next window of the group furthest behind whose window ended `delaySec` ago, if any. */
  private async createTask(signal: AbortSignal): Promise<Step> {
    const windowMs = Math.round(this.config.windowSec * 1000);
    const readyUntil = Date.now() - this.config.delaySec * 1000;
    const group = this.state.groups().find((g) => this.configured(g.group) && !this.refused.has(g.group) && g.nextFromMs + windowMs <= readyUntil);
    if (!group) return 'wait';
    const fromMs = group.nextFromMs;
    const row = {
      taskName: `auditstream-${this.name}-${fromMs}`.slice(0, 512),
      group: group.group,
      fromMs,
      toMs: fromMs + windowMs - 1,
      bucket: this.config.bucket,
      prefix: this.config.prefix,
    };
    this.state.intend(row);
    return this.create({ ...row, taskId: null }, signal);
  }

  private async create(task: ExportTaskRow, signal: AbortSignal): Promise<Step> {
    try {
      const res = await this.logs.send(
        new CreateExportTaskCommand({
          taskName: task.taskName,
          logGroupName: task.group,
          from: task.fromMs,
          to: task.toMs,
          destination: task.bucket,
          destinationPrefix: task.prefix,
        }),
        { abortSignal: signal },
      );
      if (!res.taskId) throw new FatalError(`logs:CreateExportTask for ${task.group} answered without a taskId`);
      this.state.created(res.taskId);
      this.taskStatus = 'PENDING';
      this.stats.tasksCreated++;
      return 'wait';
    } catch (err) {
      if (signal.aborted) return 'wait';
      if (awsErrorName(err) === 'LimitExceededException') {
        // Another export task of the account runs (ours from another process, or anyone's): wait for it.
        this.state.abandonTask();
        this.stats.limitWaits++;
        this.taskStatus = undefined;
        return 'wait';
      }
      const e = classifyAwsError(err, `logs:CreateExportTask for ${task.group} to s3://${task.bucket}/${task.prefix}`);
      if (e instanceof FatalError) {
        this.state.abandonTask();
        this.refused.set(task.group, e.message);
      }
      // Otherwise the intent stays: a call that timed out may have created the task, and the next step looks for it by name.
      throw e;
    }
  }

  /**
   * A crash came between recording the window and storing the task id: the
   * task may exist. It is found by its name, window and group among the
   * account's tasks rather than created twice.
   */
  private async adoptOrCreate(task: ExportTaskRow, signal: AbortSignal): Promise<Step> {
    let nextToken: string | undefined;
    do {
      const page = await this.logs.send(new DescribeExportTasksCommand({ nextToken }), { abortSignal: signal });
      const match = page.exportTasks?.find((t) => t.taskName === task.taskName && t.logGroupName === task.group && t.from === task.fromMs && t.to === task.toMs);
      if (match?.taskId) {
        this.state.created(match.taskId);
        return 'again';
      }
      nextToken = page.nextToken;
    } while (nextToken && !signal.aborted);
    return this.create(task, signal);
  }

  private async describe(taskId: string, signal: AbortSignal): Promise<ExportTask | undefined> {
    const res = await this.logs.send(new DescribeExportTasksCommand({ taskId }), { abortSignal: signal });
    return res.exportTasks?.find((t) => t.taskId === taskId);
  }

  /** Publishes every object the task wrote; true once all were acknowledged and the window advanced. */
  private async readExport(task: ExportTaskRow, publisher: Publisher, signal: AbortSignal): Promise<boolean> {
    const taskPrefix = `${task.prefix}/${task.taskId}/`;
    const pages = paginateListObjectsV2({ client: this.s3 }, { Bucket: task.bucket, Prefix: taskPrefix }, { abortSignal: signal });
    for await (const page of pages) {
      for (const obj of page.Contents ?? []) {
        const key = obj.Key;
        if (!key || key.endsWith('/') || key.endsWith('/aws-logs-write-test')) continue;
        const progress = this.state.object(key);
        if (!progress.done && !(await this.readObject(task, key, obj.LastModified, progress.acked, publisher, signal))) return false;
        if (this.config.deleteAfterAck) await this.reader.delete({ bucket: task.bucket, key }, signal);
        if (signal.aborted) return false;
      }
    }
    this.state.finishTask(task);
    this.taskStatus = undefined;
    this.stats.windowsDone++;
    return true;
  }

  private async readObject(
    task: ExportTaskRow,
    key: string,
    lastModified: Date | undefined,
    alreadyAcked: number,
    publisher: Publisher,
    signal: AbortSignal,
  ): Promise<boolean> {
    // `<prefix>/<taskId>/<logStream>/000000.gz`: the stream name may itself hold slashes.
    const inTask = key.slice(`${task.prefix}/${task.taskId}/`.length);
    const logStream = inTask.slice(0, inTask.lastIndexOf('/'));
    const outcome = await this.reader.read(
      {
        bucket: task.bucket,
        key,
        lastModified,
        read: {
          decode: 'cloudwatch-logs-export',
          parse: this.config.parse,
          vpcFlowFormat: this.config.vpcFlowFormat,
          origin: { logGroup: task.group, logStream, bucket: task.bucket, key },
          // The window, not the task id: a window exported again after a failure gets the same ids.
          idHint: `cloudwatch-export://${task.group}/${task.fromMs}-${task.toMs}/${inTask}`,
          keepUnparsed: this.config.keepUnparsed,
        },
        alreadyAcked,
        saveProgress: (acked, done) => this.state.saveObject(key, acked, done),
      },
      publisher,
      signal,
    );
    return outcome.ok;
  }

  /** Deletes that failed earlier, once their backoff has passed (the window they belong to may be long done). */
  private async retryDeletes(signal: AbortSignal): Promise<void> {
    for (const object of this.state.undeletedDue(Date.now())) {
      if (signal.aborted) return;
      await this.reader.delete(object, signal);
    }
  }

  /** The state keeps groups dropped from the config (their place, should they come back); they are not exported. */
  private configured(group: string): boolean {
    return (this.config.logGroups?.includes(group) ?? false) || (this.config.logGroupPrefix !== undefined && group.startsWith(this.config.logGroupPrefix));
  }

  private noteError(message: string, type: string, stage: 'receiving' | 'processing'): void {
    this.lastError = { message, at: new Date().toISOString() };
    this.ctx.component.error(type, stage);
  }
}

export const cloudWatchExportSourceDefinition: SourceDefinition<CloudWatchExportSourceConfig> = {
  type: 'cloudwatch-export',
  schema: cloudWatchExportSourceSchema,
  create: (name, config, ctx) => new CloudWatchExportSource(name, config, ctx),
};
