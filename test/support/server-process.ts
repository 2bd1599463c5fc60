import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stderr (its logs). */
  stderr: () => string;
  /** Everything the process wrote to stdout (its plain lines). */
  stdout: () => string;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `auditstream serve` as a real child process (the same entry as
 * `npm start`, run from the TypeScript sources through tsx) on a free port
 * (of 127.0.0.1 unless `listen` says otherwise),
 * and waits for its "listening" line. Killed in t.after if still running.
 */
export async function startServer(
  t: TestContext,
  opts: {
    dataDir: string;
    config?: object;
    configFile?: string;
    env?: NodeJS.ProcessEnv;
    listen?: string;
    /** Where the config file is written (default: dataDir, which must then exist). */
    configDir?: string;
    /** Start the server under this umask (through sh), e.g. '022'. */
    umask?: string;
  },
): Promise<ServerProcess> {
  const args = ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', '--listen', opts.listen ?? '127.0.0.1:0', '--data-dir', opts.dataDir];
  if (opts.configFile) {
    args.push('--config', opts.configFile);
  } else if (opts.config) {
    const file = join(opts.configDir ?? opts.dataDir, `config-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(opts.config));
    args.push('--config', file);
  }
  // exec: the child's pid stays the server's, so kill() and SIGKILL reach it.
  const [command, argv] = opts.umask === undefined ? [process.execPath, args] : ['sh', ['-c', `umask ${opts.umask} && exec "$0" "$@"`, process.execPath, ...args]];
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, AUDITSTREAM_LOG_LEVEL: process.env.AUDITSTREAM_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${err}`));
    });
  });
  return { url, child, stderr: () => err, stdout: () => out, exited };
}

export async function postEvents(url: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const isText = typeof body === 'string';
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': isText ? 'application/x-ndjson' : 'application/json', ...headers },
    body: isText ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
