import './quiet-sdk.js';
import { Command, CommanderError } from 'commander';
import { ConfigError, ConfigErrors, errorMessage } from '../core/errors.js';
import { packageVersion } from '../core/version.js';
import { registerConfigCommand } from './config-check.js';
import { registerConfigSealCommand } from './config-seal.js';
import { registerDemoCommand } from './demo.js';
import { registerEmittersCommand } from './emitters.js';
import { registerSendCommand } from './send.js';
import { registerServeCommand } from './serve.js';
import { registerTailCommand } from './tail.js';

const program = new Command('auditstream')
  .description('Stream security audit logs: sources → router → durable journal → sinks')
  .version(packageVersion())
  .showHelpAfterError();
registerServeCommand(program);
registerSendCommand(program);
registerEmittersCommand(program);
registerConfigSealCommand(registerConfigCommand(program));
registerDemoCommand(program);
registerTailCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const prefix = err instanceof ConfigError ? 'config error: ' : 'error: ';
  for (const e of err instanceof ConfigErrors ? err.errors : [err]) process.stderr.write(`auditstream: ${prefix}${errorMessage(e)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}
