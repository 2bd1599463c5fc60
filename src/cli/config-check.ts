import type { Command } from 'commander';
import { readConfig } from '../config/load.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { registerConfigSchemaCommand } from './config-schema.js';

/** Registers `config` with its `check` and `schema`; returns `config` for the other subcommands. */
export function registerConfigCommand(program: Command): Command {
  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate a config file (and the embedded default without one) as serve would, writing nothing; exits 2 naming every bad key')
    .option('-c, --config <file>', 'config file')
    .action((opts: { config?: string }) => {
      const { config, emitters } = Pipeline.validate(readConfig(opts.config ? { file: opts.config } : {}).raw);
      process.stdout.write(`config ok: ${emitters.length} emitter(s) (${emitters.map((e) => `${e.name}:${e.common.type}`).join(', ')}), ${config.sources.length} source(s), ack ${config.audit.ack}\n`);
    });
  registerConfigSchemaCommand(config);
  return config;
}
