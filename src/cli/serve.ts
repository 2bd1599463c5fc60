import type { Command } from 'commander';
import type { AddressInfo } from 'node:net';
import { isLoopback, parseListen } from '../config/listen-address.js';
import { readConfig, sealPlainSecrets } from '../config/load.js';
import { createLogger } from '../core/logger.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { startSummaryLog } from '../pipeline/summary.js';
import { buildApp } from '../server/app.js';

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
      const read = readConfig({
        ...(opts.config ? { file: opts.config } : {}),
        overrides: { ...(opts.listen ? { listen: opts.listen } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) },
      });
      // The same validation as `config check`, before anything is written or started: every problem at once, exit 2.
      const { config } = Pipeline.validate(read.raw);
      const { sealed, leftPlain } = sealPlainSecrets(read);
      const file = read.file;
      const logger = createLogger(process.env.AUDITSTREAM_LOG_LEVEL ?? config.logLevel);
      if (sealed.length > 0) logger.info({ file, sealed }, 'sealed plain secureParams values in the config file (only those values were rewritten; formatting and mode kept)');
      if (leftPlain) {
        logger.warn(
          { file, plain: leftPlain.keys, reason: leftPlain.reason },
          `the config file still holds plain secureParams values (used in memory only): seal it with "auditstream config seal ${file}" where it is writable`,
        );
      }
      const pipeline = await Pipeline.start(config, logger);
      const app = buildApp({ config, pipeline, search: pipeline.search, logger });
      const { host, port } = parseListen(config.server.listen);
      const address = await app.listen({ host, port });
      // The bound addresses, not the configured host: a name such as "localhost" or "myhost" says nothing until resolved.
      const exposed = app.addresses().filter((a): a is AddressInfo => typeof a !== 'string' && !isLoopback(a.address));
      if (config.server.apiKeys.length === 0 && exposed.length > 0) {
        const where = exposed.map((a) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)).join(', ');
        const warning = `listening on ${where}, reachable from other hosts, with no server.apiKeys: anyone who can connect may post events, read the audit trail and test emitters. Set server.apiKeys, or listen on 127.0.0.1`;
        logger.warn({ listen: config.server.listen, addresses: exposed }, warning);
        // Before the listening line, so whoever waits for that line has the warning too.
        process.stdout.write(`WARNING: ${warning}\n`);
      }
      // A plain line on stdout says where we listen (logs go to stderr): scripts and tests read it.
      process.stdout.write(`auditstream listening on ${address} (data dir ${pipeline.dataDir})\n`);
      logger.info({ address, emitters: pipeline.emitters.map((e) => e.name), sources: pipeline.sources.map((s) => s.name) }, 'auditstream started');
      const stopSummary = startSummaryLog(pipeline, logger, config.logSummaryEverySec);

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
        stopSummary();
        await app.close();
        await pipeline.stop(Math.max(0, deadline - Date.now()));
        logger.info('stopped cleanly');
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
    });
}
