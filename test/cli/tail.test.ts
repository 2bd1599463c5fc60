import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

test('tail without AWS credentials exits 1 saying where credentials come from, and that an emulator at --endpoint takes any', async (t) => {
  // No credentials anywhere the SDK looks: none in the environment, no ~/.aws, no instance metadata.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  Object.assign(env, { HOME: await tempDir(t), AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  // Credentials are looked for before anything is sent: nothing needs to listen at the endpoint.
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'tail', '--stream', 's', '--limit', '1', ...args], { cwd: ROOT, env, encoding: 'utf8' });

  const emulator = cli(['--endpoint', endpoint]);
  assert.equal(emulator.status, 1, emulator.stderr);
  assert.match(emulator.stderr, /Could not load credentials .*; an emulator at --endpoint takes any credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to any values/);

  const aws = cli(['--region', 'eu-west-1']);
  assert.equal(aws.status, 1, aws.stderr);
  assert.match(aws.stderr, /Could not load credentials .*; give them the AWS SDK way: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE/);
});
