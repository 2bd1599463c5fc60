import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir, waitFor } from '../support/temp.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The environment of every child: the node running this test first on PATH (the
 * installed bin's `#!/usr/bin/env node` must find it), and no npm_* variables
 * from an enclosing `npm test`, which would point npm at this checkout.
 */
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_'))),
  PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
  AUDITSTREAM_LOG_LEVEL: 'warn',
};

async function sh(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

/**
 * What a fresh clone holds (tracked files and new, not ignored ones), copied
 * so that `npm pack` builds its own dist/ from nothing, as in CI, without
 * rewriting this checkout's dist/ under a test that may be running from it.
 * node_modules is shared: the build needs the dev dependencies.
 */
async function checkoutCopy(dest: string): Promise<void> {
  const listed = await sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT);
  for (const file of listed.split('\0')) {
    if (file === '' || file === 'node_modules') continue;
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    try {
      copyFileSync(join(ROOT, file), join(dest, file));
    } catch (err) {
      // Deleted in the working tree but not yet in the index: not in a clone of the next commit either.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dest, 'node_modules'));
}

test('npm pack yields a package that installs into an empty folder, reports its version and serves', async (t) => {
  const work = await tempDir(t, 'auditstream-pack-');
  const checkout = join(work, 'checkout');
  await checkoutCopy(checkout);
  // A module left in dist/ by an older build must not ship: pack builds dist/ afresh.
  mkdirSync(join(checkout, 'dist'), { recursive: true });
  writeFileSync(join(checkout, 'dist', 'removed-module.js'), 'export {};\n');

  const packed = JSON.parse(await sh('npm', ['pack', '--pack-destination', work, '--json'], checkout)) as [{ filename: string }];
  const tarball = join(work, packed[0].filename);

  const entries = (await sh('tar', ['-tzf', tarball], work)).split('\n').filter(Boolean).map((e) => e.replace(/^package\//, ''));
  for (const wanted of ['package.json', 'dist/cli/main.js', 'dist/store/sqlite-writer-worker.js', 'bin/auditstream.js', 'README.md', 'LICENSE', 'CHANGELOG.md', 'docs/formats.md']) {
    assert.ok(entries.includes(wanted), `the tarball lacks ${wanted}; it holds:\n${entries.join('\n')}`);
  }
  const unwanted = entries.filter((e) => /^(test|src|bench|scripts|deploy|\.ci)\//.test(e) || e.endsWith('.map') || e === 'dist/removed-module.js');
  assert.deepEqual(unwanted, [], 'tests, sources, source maps, benchmarks and stale build output stay out of the package');

  // Installed from the tarball alone into an empty folder. better-sqlite3 compiles from
  // source when no prebuilt binary can be fetched (over 6 minutes on this 2-core machine),
  // so install scripts are skipped and the module this checkout built for this very node
  // is copied in, pinned to the same version so its JavaScript matches the binary.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true }));
  const sqliteDir = join(ROOT, 'node_modules', 'better-sqlite3');
  const sqliteVersion = (JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')) as { version: string }).version;
  await sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball, `better-sqlite3@${sqliteVersion}`], app);
  const release = join(app, 'node_modules', 'better-sqlite3', 'build', 'Release');
  mkdirSync(release, { recursive: true });
  copyFileSync(join(sqliteDir, 'build', 'Release', 'better_sqlite3.node'), join(release, 'better_sqlite3.node'));

  const bin = join(app, 'node_modules', '.bin', 'auditstream');
  assert.equal((await sh(bin, ['--version'], app)).trim(), VERSION);
  // The version comes from the installed package.json when the CLI runs, not from the build.
  const installedPkg = join(app, 'node_modules', 'auditstream', 'package.json');
  const pkg = JSON.parse(readFileSync(installedPkg, 'utf8')) as { version: string };
  writeFileSync(installedPkg, JSON.stringify({ ...pkg, version: `${VERSION}-rebuilt.1` }));
  assert.equal((await sh(bin, ['--version'], app)).trim(), `${VERSION}-rebuilt.1`);

  const dataDir = join(work, 'data');
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { cwd: app, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await Promise.race([
    waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], 'the "listening" line', 30_000),
    exited.then(([code, signal]) => {
      throw new Error(`serve exited (code ${code}, signal ${signal}) before listening:\n${err}`);
    }),
  ]);

  const record = readFileSync(join(ROOT, 'test', 'fixtures', 'seeds', 'blitz-login.json'), 'utf8');
  const posted = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: record });
  const answer = (await posted.json()) as { accepted: number; ids: string[] };
  assert.equal(posted.status, 202, JSON.stringify(answer));
  assert.equal(answer.accepted, 1);
  // Delivered into the SQLite audit store through its worker thread, which loads from dist/.
  const stored = await waitFor(async () => {
    const res = await fetch(`${url}/v1/events/${encodeURIComponent(answer.ids[0]!)}`);
    return res.status === 200 ? ((await res.json()) as { type: string; source: string }) : undefined;
  }, 'the event in the audit store');
  assert.equal(stored.type, 'login');
  assert.equal(stored.source, 'blitz');

  child.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, err);
});
