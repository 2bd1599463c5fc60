import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs loadgen.mjs in its own process against `url` and resolves with its
 * results; the generator stops by itself (duration / request cap), and is
 * killed if it outlives its duration by more than a minute.
 */
export function runLoad(opts) {
  return new Promise((resolveLoad, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'loadgen.mjs'), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (opts.warmupMs ?? 0) + (opts.durationMs ?? 10_000) + 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      if (code !== 0) return reject(new Error(`load generator failed (code ${code}, signal ${signal}):\n${err}`));
      resolveLoad(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}
