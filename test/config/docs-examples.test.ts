import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { tempDir } from '../support/temp.js';
import { docConfigExamples, exampleFiles, ROOT } from './config-examples.js';

test('every whole config in README.md and docs/*.md passes config check', async (t) => {
  const examples = docConfigExamples();
  // The README's collector and its Configuration block, at least: an extractor that finds nothing proves nothing.
  assert.ok(examples.filter((e) => e.where.startsWith('README.md')).length >= 2, `found: ${examples.map((e) => e.where).join(', ')}`);
  const dir = await tempDir(t);
  const failures: string[] = [];
  for (const [i, example] of examples.entries()) {
    const file = join(dir, `example-${i}.yaml`);
    writeFileSync(file, example.text);
    try {
      // What `auditstream config check -c FILE` runs.
      Pipeline.validate(readConfig({ file, env: {} }).raw);
    } catch (err) {
      failures.push(`${example.where}:\n${(err as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

/** One config file per role named in examples/README.md, at least: an empty folder would pass every check below. */
const ROLES = ['blitz-idp.yaml', 'collector-cloudtrail.yaml', 'publisher-kinesis-s3.yaml', 's3-export-reader.yaml'];

test('every config in examples/ passes config check, in process', () => {
  const examples = exampleFiles();
  assert.deepEqual(
    ROLES.filter((f) => !examples.some((e) => e.where === `examples/${f}`)),
    [],
  );
  const failures: string[] = [];
  for (const example of examples) {
    try {
      Pipeline.validate(readConfig({ file: example.file!, env: {} }).raw);
    } catch (err) {
      failures.push(`${example.where}:\n${(err as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('every config in examples/ passes `auditstream config check` as a user runs it', () => {
  for (const example of exampleFiles()) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'config', 'check', '-c', example.file!], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, AUDITSTREAM_LOG_LEVEL: 'warn' },
    });
    assert.equal(run.status, 0, `${example.where}: ${run.stderr}`);
    assert.match(run.stdout, /^config ok: /, example.where);
  }
});
