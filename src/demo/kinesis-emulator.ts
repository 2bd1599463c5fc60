import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';

export interface RunningEmulator {
  endpoint: string;
  stop(): void;
}

/**
 * Starts kinesalite (a development dependency) in a child process bound to
 * loopback. The child is killed when this process exits, however it exits.
 */
export async function startKinesalite(): Promise<RunningEmulator> {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('kinesalite');
  } catch {
    throw new Error('the demo needs kinesalite, a development dependency: run `npm install` in the auditstream checkout');
  }
  const port = await freePort();
  const launcher = `const s = require(${JSON.stringify(main)})({ createStreamMs: 10, deleteStreamMs: 10, updateStreamMs: 10, shardLimit: 100 });
s.listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
  // stdin is a pipe: if we die without cleaning up, its end tells the child to exit too.
  const child: ChildProcess = spawn(process.execPath, ['-e', launcher], { stdio: ['pipe', 'pipe', 'inherit'] });
  const kill = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`kinesalite exited with code ${code} before it was ready`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => {
      process.removeListener('exit', kill);
      kill();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
