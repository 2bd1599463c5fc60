import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../core/logger.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { buildApp } from '../server/app.js';
import { parseListen } from './listen-address.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the pipeline: HTTP ingest, configured sources, emitters (embedded default without --config)')
    .option('-c, --config <file>', 'config file (YAML or JSON)')
    .option('--listen <host:port>', 'HTTP listen address (overrides server.listen; port 0 picks a free port)')
    .option('--data-dir <dir>', 'data directory for queues, logs and the audit store (overrides dataDir)')
    .action(async (opts: { config?: string; listen?: string; dataDir?: string }) => {
      // Before anything is written (the secret key comes first): files made by code or libraries
      // that set no mode of their own are owner-only too. Where auditstream sets modes, it sets them exactly.
      process.umask(0o077);
      const { config, sealed, file } = loadConfig({
        ...(opts.config ? { file: opts.config } : {}),
        overrides: { ...(opts.listen ? { listen: opts.listen } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) },
        sealSecrets: true,
      });
      const logger = createLogger(process.env.AUDITSTREAM_LOG_LEVEL ?? config.logLevel);
      if (sealed > 0) logger.info({ file, sealed }, 'sealed plain secureParams values in the config file');
      const pipeline = await Pipeline.start(config, logger);
      const app = buildApp({ config, pipeline, logger });
      const { host, port } = parseListen(config.server.listen);
      const address = await app.listen({ host, port });
      // A plain line on stdout says where we listen (logs go to stderr): scripts and tests read it.
      process.stdout.write(`auditstream listening on ${address} (data dir ${pipeline.dataDir})\n`);
      logger.info({ address, emitters: pipeline.emitters.map((e) => e.name), sources: pipeline.sources.map((s) => s.name) }, 'auditstream started');

      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting now; queued events stay on disk for the next start');
          process.exit(1);
        }
        stopping = true;
        const timeoutMs = config.server.shutdownTimeoutSec * 1000;
        logger.info({ signal, timeoutMs }, 'shutting down: no new events accepted, flushing in-flight batches');
        const hardStop = setTimeout(() => {
          logger.error('shutdown timed out; exiting, queued events stay on disk');
          process.exit(1);
        }, timeoutMs + 5_000);
        hardStop.unref();
        const deadline = Date.now() + timeoutMs;
        await app.close();
        await pipeline.stop(Math.max(0, deadline - Date.now()));
        logger.info('stopped cleanly');
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
    });
}
