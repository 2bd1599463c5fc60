import type { Command } from 'commander';
import { sealConfigFile } from '../config/load.js';

export function registerConfigSealCommand(config: Command): void {
  config
    .command('seal')
    .description(
      'encrypt the plain secureParams values of FILE in place and exit (for a config the server cannot rewrite, e.g. a ConfigMap); ' +
        'only those values change, comments, formatting and the file mode are kept; the server needs the same key',
    )
    .argument('<file>', 'config file (YAML or JSON); through a symlink, its target is sealed')
    .option('--data-dir <dir>', 'where the key file secret.key is read or created (overrides the file\'s dataDir); AUDITSTREAM_SECRET_KEY wins over both')
    .action((file: string, opts: { dataDir?: string }) => {
      const result = sealConfigFile(file, opts.dataDir ? { dataDir: opts.dataDir } : {});
      if (result.sealed.length === 0) {
        process.stdout.write(`${result.file}: no plain secureParams values to seal\n`);
        return;
      }
      process.stdout.write(
        `${result.file}: sealed ${result.sealed.length} value(s) with the key from ${result.key}: ${result.sealed.join(', ')}\n`,
      );
    });
}
