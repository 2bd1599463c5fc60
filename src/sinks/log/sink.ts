import { randomUUID } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { eventJson } from '../../core/component-metrics.js';
import type { AuditEvent } from '../../core/event.js';
import { makePrivateDir } from '../../core/private-files.js';
import type { CheckStep, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from '../sink.js';
import { parseArchivePattern } from './archive-pattern.js';
import { logSinkProblems, logSinkSchema, resolveLogSinkConfig, type LogSinkConfig } from './config.js';
import { describeFsError } from './file-error.js';
import { compilePatternLayout } from './layout.js';
import { openLogFile, RollingFile } from './rolling-file.js';

// One outcome object for every line: a batch of 1 000 would otherwise allocate 1 000 equal ones, per log emitter.
const DELIVERED: DeliveryOutcome = { status: 'delivered' };
const NOT_ONE_LINE: DeliveryOutcome = { status: 'rejected', reason: 'log sink: the stored event is not one line of a JSON object; writing it would break the file\'s one JSON object per line' };
const NEWLINE = Buffer.from('\n');

/**
 * Whether stored bytes can be written as one line of the json layout: they
 * start with `{`, end with `}` and hold no CR or LF. This guards the file's
 * framing only, not the JSON itself: the journal checksums every record
 * (a damaged one never reaches a sink) and the bytes were made by
 * JSON.stringify, which escapes line breaks in strings. A full parse per
 * line is what sendStored spares.
 */
function isOneObjectLine(json: Buffer): boolean {
  return json.length >= 2 && json[0] === 0x7b && json[json.length - 1] === 0x7d && json.indexOf(0x0a) === -1 && json.indexOf(0x0d) === -1;
}

export interface LogSinkOptions {
  /** The clock that decides timestamps and the rollover day. Tests inject one to cross midnight. */
  now?: () => Date;
}

/**
 * Blitz Identity Provider's `log` receiver: each event becomes one line in a rolling audit
 * file, the way Blitz writes to its logback AUDIT logger.
 */
export function createLogSink(config: LogSinkConfig, ctx: SinkContext, options: LogSinkOptions = {}): Sink {
  const c = resolveLogSinkConfig(config, ctx.dataDir);
  const now = options.now ?? (() => new Date());
  const archive = parseArchivePattern(c.archivePattern);
  const pattern = c.layout === 'pattern' ? compilePatternLayout({ ...c, emitterName: ctx.emitterName }) : undefined;
  const file = new RollingFile({
    file: c.file,
    archive,
    retention: { maxHistory: c.maxHistory, totalSizeCap: c.totalSizeCap },
    fsync: c.fsync,
    now,
    logger: ctx.logger.child({ emitter: ctx.emitterName, sink: 'log' }),
  });

  /**
   * The json layout's lines are the journal's stored bytes, each followed by
   * a newline: written as they are, nothing parsed or serialised again. A
   * payload that would not make one line is rejected alone (dead-lettered).
   */
  async function sendStored(batch: readonly Buffer[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    signal.throwIfAborted();
    const lines: Buffer[] = [];
    const outcomes: DeliveryOutcome[] = [];
    for (const json of batch) {
      if (isOneObjectLine(json)) {
        lines.push(json, NEWLINE);
        outcomes.push(DELIVERED);
      } else {
        outcomes.push(NOT_ONE_LINE);
      }
    }
    if (lines.length > 0) await file.append(lines);
    return outcomes;
  }

  return {
    batch: { maxEvents: 1000, maxBytes: 4 * 1024 * 1024, lingerMs: 0 },

    async send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
      // json: the events' JSON as the journal stored it (eventJson), the same path as the stored bytes.
      if (!pattern) return sendStored(batch.map(eventJson), signal);
      signal.throwIfAborted();
      if (batch.length === 0) return [];
      await file.append([pattern(batch, now())]);
      return batch.map(() => DELIVERED);
    },

    ...(!pattern && { sendStored }),

    async check(): Promise<CheckStep[]> {
      const archiveProbe = join(archive.dir, `.auditstream-check-${randomUUID()}.tmp`);
      return [
        await step(`create directory ${dirname(c.file)}`, () => makePrivateDir(dirname(c.file))),
        await step(`open ${c.file} for append`, async () => {
          const handle = await openLogFile(c.file, 'a');
          try {
            if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
          } finally {
            await handle.close();
          }
        }),
        await step(`write to archive directory ${archive.dir}`, async () => {
          await makePrivateDir(archive.dir);
          await (await open(archiveProbe, 'wx', 0o600)).close();
          await rm(archiveProbe);
        }),
      ];
    },

    close: () => file.close(),
  };
}

async function step(name: string, run: () => Promise<unknown>): Promise<CheckStep> {
  try {
    await run();
    return { step: name, ok: true, detail: '' };
  } catch (err) {
    return { step: name, ok: false, detail: describeFsError(err) };
  }
}

export const logSink: SinkDefinition<LogSinkConfig> = {
  type: 'log',
  schema: logSinkSchema,
  validate: (config, ctx) => logSinkProblems(config, ctx.dataDir),
  create: (config, ctx) => createLogSink(config, ctx),
};
