import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

test('no AWS SDK Node-version warning on stderr, whatever the command (the SDK prints it on Node < 22)', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: await tempDir(t), AWS_EC2_METADATA_DISABLED: 'true' };
  // The test runner disables the warning for every test; here it must be the CLI that does.
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete env[k];
  const commands = [
    ['--help'],
    ['config', 'check', '--config', join(ROOT, 'examples/publisher-kinesis-s3.yaml')],
    // Builds a Kinesis client (where the SDK warns), then fails on credentials.
    ['tail', '--stream', 's', '--region', 'us-east-1', '--endpoint', 'http://127.0.0.1:9', '--limit', '1'],
  ];
  for (const args of commands) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env, encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning|AWS SDK for JavaScript/, `auditstream ${args.join(' ')}`);
  }
  const tail = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...commands[2]!], { cwd: ROOT, env, encoding: 'utf8' });
  assert.match(tail.stderr, /credentials/, 'tail got as far as building its client');
});
