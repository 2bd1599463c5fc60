import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { S3RVER_CREDENTIALS, startS3rver } from '../support/s3rver.js';
import { allStoredEvents } from '../support/search.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

test('an s3 source in `serve`: objects are read into the audit store, deleted after acknowledgement, and a restart neither re-reads nor skips', async (t) => {
  const dataDir = await tempDir(t);
  const s3 = await startS3rver(t);
  await s3.createBucket('exports');
  const blitz = readFileSync(join(ROOT, 'test/fixtures/seeds/blitz-login.json'), 'utf8').trim();
  const foxpass = readFileSync(join(ROOT, 'test/fixtures/seeds/foxpass-ldap-bind.json'), 'utf8').trim();
  await s3.put('exports', 'idp/2024-01-01/part-0001.jsonl.gz', gzipSync(`${blitz}\n${foxpass}\n`));
  const cloudtrail = {
    Records: [
      { eventVersion: '1.08', eventID: 'ct-1', eventTime: '2024-01-01T00:00:00Z', eventSource: 'iam.amazonaws.com', eventName: 'DeleteUser', userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/admin' }, sourceIPAddress: '203.0.113.5', recipientAccountId: '111122223333' },
      { eventVersion: '1.08', eventID: 'ct-2', eventTime: '2024-01-01T00:00:01Z', eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', errorCode: 'AccessDenied', userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/mallory' }, sourceIPAddress: '198.51.100.9', recipientAccountId: '111122223333' },
    ],
  };
  await s3.put('exports', 'idp/2024-01-01/part-0002.json', JSON.stringify(cloudtrail));
  const config = {
    sources: [{ type: 's3', name: 'exports', bucket: 'exports', prefix: 'idp/', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, pollIntervalSec: 1, deleteAfterRead: true }],
    audit: { emitters: [{ type: 'audit-store' }] },
  };
  const first = await startServer(t, { dataDir, config });
  const stored = await waitFor(async () => {
    const events = await allStoredEvents(first.url);
    return events.length === 4 ? events : null;
  }, 'four events stored');
  await waitFor(async () => (await s3.keys('exports', 'idp/')).length === 0, 'objects deleted after acknowledgement');
  const byId = new Map(stored.map((e) => [e.id, e]));
  assert.equal(byId.get('6056828858453673-600312119')?.source, 'blitz');
  assert.equal(byId.get('ct-2')?.outcome, 'failure');
  assert.equal(byId.get('ct-2')?.actor, 'arn:aws:iam::111122223333:user/mallory');
  assert.equal(stored.find((e) => e.source === 'foxpass')?.actor, 'alice');
  const sources = (await (await fetch(`${first.url}/v1/sources`)).json()) as { sources: { name: string }[] };
  assert.ok(sources.sources.some((s) => s.name === 'exports'));
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0);

  const second = await startServer(t, { dataDir, config });
  await s3.put('exports', 'idp/2024-01-02/part-0003.jsonl', '{"type":"logout","time":"2024-01-02T00:00:00Z","id":"later-1"}\n');
  await waitFor(async () => (await allStoredEvents(second.url)).some((e) => e.id === 'later-1'), 'the new object read after the restart');
  assert.equal((await allStoredEvents(second.url)).length, 5, 'each event stored once, nothing skipped');
  second.child.kill('SIGTERM');
  await second.exited;

  // The same source name pointed at another prefix must not resume this prefix's progress.
  const moved = { ...config, sources: [{ ...config.sources[0]!, prefix: 'other/' }] };
  await assert.rejects(startServer(t, { dataDir, config: moved }), (err: Error) => /config error: sources\[0\]\.name: .*idp\//.test(err.message));
});
