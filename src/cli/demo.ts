import type { Command } from 'commander';
import { createLogger } from '../core/logger.js';
import { runDemo } from '../demo/demo.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('publisher → local Kinesis emulator → collector → audit store, end to end on this machine (Ctrl-C stops it)')
    .option('--data-dir <dir>', 'where the demo keeps its queues and audit store: a new or empty directory, or one the demo created (emptied at start)', './auditstream-data/demo')
    .option('--rate <n>', 'events per second to generate', '20')
    .option('--shards <n>', 'shards of the demo stream', '2')
    .option('--duration <sec>', 'stop by itself after this many seconds (default: run until Ctrl-C)')
    .action(async (opts: { dataDir: string; rate: string; shards: string; duration?: string }) => {
      const rate = Number(opts.rate);
      const shards = Number(opts.shards);
      if (!(rate > 0)) throw new Error(`--rate must be a positive number, got "${opts.rate}"`);
      if (!Number.isInteger(shards) || shards < 1 || shards > 16) throw new Error(`--shards must be a whole number from 1 to 16, got "${opts.shards}"`);
      // As in serve: whatever the demo writes is owner-only, including what libraries write with no mode of their own.
      process.umask(0o077);
      const logger = createLogger(process.env.AUDITSTREAM_LOG_LEVEL ?? 'warn');
      const demo = await runDemo({ dataDir: opts.dataDir, rate, shards, logger, print: (line) => process.stdout.write(line + '\n') });
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await demo.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      if (opts.duration) setTimeout(() => void stop(), Number(opts.duration) * 1000);
    });
}
