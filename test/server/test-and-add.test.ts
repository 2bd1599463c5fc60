import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, readAllRecords, startKinesalite } from '../support/kinesis-emulators.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

test('Test & Add: POST /v1/emitters/NAME/test and `auditstream emitters test NAME` report each step, naming what is wrong', async (t) => {
  const dataDir = await tempDir(t);
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('audit-good', 2);
  const aws = { region: EMULATOR_REGION, endpoint: kinesis.endpoint, credentials: { ...EMULATOR_CREDENTIALS } };
  const config = {
    audit: {
      emitters: [
        { type: 'kinesis', name: 'customer-a', streamName: 'audit-good', ...aws },
        // As in vendors' Test & Add: a configuration is tested before it is enabled.
        { type: 'kinesis', name: 'customer-b', enabled: false, streamName: 'audit-missing', ...aws },
        { type: 'audit-store' },
      ],
    },
  };
  const server = await startServer(t, { dataDir, config });

  const good = (await (await fetch(`${server.url}/v1/emitters/customer-a/test`, { method: 'POST' })).json()) as { ok: boolean; steps: { step: string; ok: boolean; detail: string }[] };
  assert.equal(good.ok, true, JSON.stringify(good));
  assert.ok(good.steps.length >= 2 && good.steps.every((s) => s.ok));
  assert.ok(good.steps.some((s) => /audit-good/.test(s.step + s.detail)), 'the steps name the stream');

  const bad = (await (await fetch(`${server.url}/v1/emitters/customer-b/test`, { method: 'POST' })).json()) as { ok: boolean; steps: { step: string; ok: boolean; detail: string }[] };
  assert.equal(bad.ok, false);
  const failed = bad.steps.find((s) => !s.ok)!;
  assert.match(failed.step + ' ' + failed.detail, /audit-missing/);
  assert.match(failed.detail, /not found/i);

  const unknown = await fetch(`${server.url}/v1/emitters/nobody/test`, { method: 'POST' });
  assert.equal(unknown.status, 404);

  // The tested emitter delivers: every event posted is in the stream.
  const res = await postEvents(server.url, Array.from({ length: 30 }, (_, i) => ({ id: `ta-${i}`, type: 'login', time: '2024-01-01T00:00:00Z' })));
  assert.equal(res.status, 202);
  const records = await waitFor(async () => {
    const r = await readAllRecords(kinesis.client, 'audit-good');
    return r.length >= 30 ? r : null;
  }, '30 records in the stream');
  assert.deepEqual(records.map((r) => JSON.parse(Buffer.from(r.data).toString()).id).sort(), Array.from({ length: 30 }, (_, i) => `ta-${i}`).sort());

  const file = join(dataDir, 'cli-config.json');
  writeFileSync(file, JSON.stringify({ ...config, dataDir }));
  const cli = (name: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'emitters', 'test', name, '--config', file], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  const ok = cli('customer-a');
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /emitter "customer-a" is ready/);
  const notOk = cli('customer-b');
  assert.equal(notOk.status, 1);
  assert.match(notOk.stdout, /FAIL .*audit-missing|audit-missing[\s\S]*FAIL/);
  assert.match(notOk.stdout, /emitter "customer-b" is not ready/);
});
