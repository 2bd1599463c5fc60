/**
 * The AWS SDK, kafkajs and pg cost tens of MiB each in every process that
 * loads them (docs/benchmarks.md#5-memory). The CLI, whatever the command,
 * loads them only to run a component that uses them: `config check` validates
 * Kinesis, S3 and CloudWatch export configs without them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** A module hook that makes importing any of the heavy packages fail the process, naming it. */
const FORBID_HEAVY = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  export async function load(url, context, next) {
    if (/node_modules\\\\/(@aws-sdk\\\\/|kafkajs\\\\/|pg\\\\/)/.test(url)) throw new Error('loaded ' + url);
    return next(url, context);
  }
\`));
`;

test('config check validates Kinesis, S3 and CloudWatch export configs without loading the AWS SDK, kafkajs or pg', () => {
  for (const example of ['publisher-kinesis-s3.yaml', 'collector-cloudtrail.yaml', 'cloudwatch-export-puller.yaml', 's3-export-reader.yaml']) {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(FORBID_HEAVY)}`, join(ROOT, 'src/cli/main.ts'), 'config', 'check', '-c', join(ROOT, 'examples', example)],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AUDITSTREAM_LOG_LEVEL: 'error' } },
    );
    assert.equal(run.status, 0, `${example}: ${run.stderr}${run.stdout}`);
  }
});

test('the guard itself fails a process that loads the AWS SDK', () => {
  const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(FORBID_HEAVY)}`, '--input-type=module', '-e', "await import('@aws-sdk/client-kinesis')"], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /loaded .*@aws-sdk\/client-kinesis/);
});
