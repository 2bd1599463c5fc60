import { pino, type Logger } from 'pino';

export function createLogger(level: string = process.env.AUDITSTREAM_LOG_LEVEL ?? 'info'): Logger {
  // Logs go to stderr so that `auditstream tail` and `send` keep stdout for data.
  return pino({ level, base: { app: 'auditstream' } }, pino.destination(2));
}

export type { Logger };
