import type { Command } from 'commander';
import { resolve } from 'node:path';
import { createLogger } from '../core/logger.js';

/**
 * The shell command that runs this CLI as it was run now (node, its flags such
 * as `--import tsx`, the script by absolute path), so that the commands the
 * demo prints work as printed from the directory it was started in.
 */
function thisCli(): string {
  return ['node', ...process.execArgv, resolve(process.argv[1]!)].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

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
      // Loaded here: every command, `serve` too, imports this module to register `demo`, and only `demo` needs the AWS SDK.
      const { runDemo } = await import('../demo/demo.js');
      const demo = await runDemo({ dataDir: opts.dataDir, rate, shards, logger, cli: thisCli(), print: (line) => process.stdout.write(line + '\n') });
      const now = new AbortController();
      let stopping = false;
      const stop = async () => {
        // A second Ctrl-C cuts the wait for events in flight short.
        if (stopping) return now.abort();
        stopping = true;
        await demo.stop(now.signal);
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      if (opts.duration) setTimeout(() => void stop(), Number(opts.duration) * 1000);
    });
}
