import type { Command } from 'commander';
import { readConfig } from '../config/load.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { registerConfigSchemaCommand } from './config-schema.js';

/** Registers `config` with its `check` and `schema`; returns `config` for the other subcommands. */
export function registerConfigCommand(program: Command): Command {
  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate a config file (and the embedded default without one) as serve would, writing nothing')
    .option('-c, --config <file>', 'config file')
    .addHelpText(
      'after',
      '\nExit status:\n' +
        '  0  the config is valid (one "config ok" line on stdout)\n' +
        '  2  the config is not: unreadable, not YAML or JSON, or bad keys, each named with its path on a line of stderr\n' +
        '  1  a usage error (unknown option) or an unexpected failure\n',
    )
    .action((opts: { config?: string }) => {
      const { config, emitters } = Pipeline.validate(readConfig(opts.config ? { file: opts.config } : {}).raw);
      process.stdout.write(`config ok: ${emitters.length} emitter(s) (${emitters.map((e) => `${e.name}:${e.common.type}`).join(', ')}), ${config.sources.length} source(s), ack ${config.audit.ack}\n`);
    });
  registerConfigSchemaCommand(config);
  return config;
}
