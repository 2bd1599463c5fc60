#!/usr/bin/env node
// Runs the node:test suite through tsx. Node 20's --test takes no globs, so the
// files are listed here. Arguments narrow the run: `npm test -- test/formats`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).sort().flatMap((name) => (name === 'support' ? [] : collect(join(path, name))));
}

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ['test']).flatMap(collect);
if (files.length === 0) {
  console.error('no test files found under', roots.join(' ') || 'test');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // --test-force-exit: a file whose failing test left a server or timer open ends with its result instead of
  // waiting out the 300 s timeout, so a red run is as quick to read as a green one.
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', '--test-force-exit', ...files],
  { stdio: 'inherit', env: { ...process.env, AUDITSTREAM_LOG_LEVEL: process.env.AUDITSTREAM_LOG_LEVEL ?? 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
);
process.exit(result.status ?? 1);
