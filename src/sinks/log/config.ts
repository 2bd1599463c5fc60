import { basename, dirname, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { ConfigIssue } from '../../config/validate.js';
import { byteSize } from '../../config/byte-size.js';
import { ConfigError } from '../../core/errors.js';
import { parseArchivePattern } from './archive-pattern.js';
import { BLITZ_PATTERN, compilePattern } from './layout.js';

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * Keys of a `type: log` emitter (Blitz's `log` receiver plus logback's appender settings). type, name, enabled, include and
 * exclude are the pipeline's and are removed before this schema runs.
 */
export const logSinkSchema = z
  .strictObject({
    logger: z.string().min(1).default('AUDIT'),
    file: z.string().min(1).optional(),
    archivePattern: z.string().min(1).optional(),
    maxHistory: z.number().int().min(0).default(90),
    // 0 means no cap.
    totalSizeCap: byteSize.prefault('5GB'),
    layout: z.enum(['json', 'pattern']).optional(),
    pattern: z.string().min(1).optional(),
    message: z.enum(['event', 'raw']).default('event'),
    level: z
      .string()
      .transform((s) => s.toUpperCase())
      .pipe(z.enum(LEVELS))
      .prefault('INFO'),
    fsync: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    const layout = c.layout ?? (c.pattern === undefined ? 'json' : 'pattern');
    if (layout === 'json' && c.pattern !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'applies only to layout: pattern' });
    }
    if (layout === 'json' && c.message !== 'event') {
      ctx.addIssue({ code: 'custom', path: ['message'], message: 'applies only to layout: pattern (layout json writes the canonical event)' });
    }
    const problems = [
      layout === 'pattern'
        ? configProblem(() => compilePattern(c.pattern ?? BLITZ_PATTERN, { message: c.message, level: c.level, logger: c.logger, emitterName: '' }))
        : undefined,
      c.archivePattern === undefined ? undefined : configProblem(() => parseArchivePattern(resolve('/', c.archivePattern!))),
    ];
    for (const p of problems) if (p) ctx.addIssue({ code: 'custom', path: [p.path], message: p.problem });
  });

function configProblem(compile: () => unknown): ConfigError | undefined {
  try {
    compile();
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

export type LogSinkConfig = z.output<typeof logSinkSchema>;

/**
 * What the schema cannot see: the archive pattern derived from the data dir
 * and the file (a `%` in either), exactly as the sink will use it.
 */
export function logSinkProblems(c: LogSinkConfig, dataDir: string): ConfigIssue[] {
  const p = configProblem(() => parseArchivePattern(resolveLogSinkConfig(c, dataDir).archivePattern));
  return p ? [{ path: [p.path], message: p.problem }] : [];
}

/** The config with defaults that depend on the data dir or on other keys filled in. */
export interface ResolvedLogSinkConfig {
  logger: string;
  file: string;
  archivePattern: string;
  maxHistory: number;
  /** Bytes; 0 means no cap. */
  totalSizeCap: number;
  layout: 'json' | 'pattern';
  pattern: string;
  message: 'event' | 'raw';
  level: string;
  fsync: boolean;
}

export function resolveLogSinkConfig(c: LogSinkConfig, dataDir: string): ResolvedLogSinkConfig {
  // Each logger gets its own file by default (AUDIT → audit.log, AUDITADMIN → auditadmin.log),
  // so Blitz's example users-log and admins-log never roll the same file from two emitters.
  // A logger name is not a path: characters that could leave logs/ become "_".
  const fromLogger = `${c.logger.toLowerCase().replace(/[^a-z0-9._-]/g, '_').replace(/^\.+/, '_')}.log`;
  const file = resolve(dataDir, c.file ?? join('logs', fromLogger));
  const archivePattern = resolve(
    dataDir,
    c.archivePattern ?? join(dirname(file), 'archive', `${basename(file, extname(file))}.%d{yyyy-MM-dd}.log.gz`),
  );
  return {
    logger: c.logger,
    file,
    archivePattern,
    maxHistory: c.maxHistory,
    totalSizeCap: c.totalSizeCap,
    layout: c.layout ?? (c.pattern === undefined ? 'json' : 'pattern'),
    pattern: c.pattern ?? BLITZ_PATTERN,
    message: c.message,
    level: c.level,
    fsync: c.fsync,
  };
}
