import type { Command } from 'commander';
import { readConfig } from '../config/load.js';
import { createLogger } from '../core/logger.js';
import { ConfigError } from '../core/errors.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { testAndAdd } from '../pipeline/test-and-add.js';
import { Registry } from 'prom-client';
import { resolve } from 'node:path';
import { addServerOptions, answerOf, apiKeyOf, callServer, failureOf } from './server-client.js';

export function registerEmittersCommand(program: Command): void {
  const emitters = program.command('emitters').description('list and test the configured emitters');
  const list = emitters
    .command('list')
    .description("list emitters from the config, or a running server's (with queue depth and state) with --url")
    .option('-c, --config <file>', 'config file');
  addServerOptions(list, null);
  list.action(async (opts: { config?: string; url?: string; apiKey?: string }) => {
    if (opts.apiKey !== undefined && !opts.url) throw new ConfigError('--api-key', 'only means something with --url (a running server); without it the emitters come from the config');
    if (opts.url) {
      const res = await callServer({ url: opts.url, apiKey: opts.apiKey }, 'v1/emitters');
      const answer = await answerOf(res);
      if (!res.ok) throw new Error(failureOf(res, answer, apiKeyOf(opts) !== undefined));
      process.stdout.write(JSON.stringify(answer, null, 2) + '\n');
      return;
    }
    const { emitters: resolved } = Pipeline.validate(readConfig(opts.config ? { file: opts.config } : {}).raw);
    for (const e of resolved) {
      const filters = [e.common.include ? `include ${e.common.include.join(',')}` : '', e.common.exclude ? `exclude ${e.common.exclude.join(',')}` : ''].filter(Boolean).join('; ');
      process.stdout.write(`${e.name}\t${e.common.type}\t${e.common.enabled ? 'enabled' : 'disabled'}\t${filters || 'all events'}\n`);
    }
  });
  emitters
    .command('test')
    .description('"Test & Add": prove an emitter\'s credentials and destination work, without sending events')
    .argument('<name>', 'emitter name')
    .option('-c, --config <file>', 'config file')
    .action(async (name: string, opts: { config?: string }) => {
      const { config, emitters: resolved } = Pipeline.validate(readConfig(opts.config ? { file: opts.config } : {}).raw);
      const found = resolved.find((e) => e.name === name);
      if (!found) throw new Error(`no emitter named "${name}" in the config`);
      const logger = createLogger(process.env.AUDITSTREAM_LOG_LEVEL ?? 'warn');
      const { ok, steps } = await testAndAdd(found, { dataDir: resolve(config.dataDir), logger, metrics: new Registry() });
      for (const s of steps) process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'}  ${s.step}${s.detail ? ` — ${s.detail}` : ''}\n`);
      process.stdout.write(ok ? `emitter "${name}" is ready\n` : `emitter "${name}" is not ready\n`);
      process.exitCode = ok ? 0 : 1;
    });
}
