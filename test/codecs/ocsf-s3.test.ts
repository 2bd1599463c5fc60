import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import { createLogger } from '../../src/core/logger.js';
import { parseRecord } from '../../src/formats/parse.js';
import { s3SinkDefinition } from '../../src/sinks/s3/sink.js';
import { record } from '../formats/fixtures.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../support/s3rver.js';
import { tempDir } from '../support/temp.js';

test('an S3 emitter with codec ocsf writes one OCSF event per line, multi-line records included', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('lake');
  const config = parseConfig(
    s3SinkDefinition.schema,
    { bucket: 'lake', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, prefix: 'ocsf', codec: 'ocsf' },
    'audit.emitters[0]',
  );
  const sink = s3SinkDefinition.create(config, { configPath: 'audit.emitters[0]', emitterName: 'lake', dataDir: await tempDir(t), logger: createLogger('warn'), metrics: new Registry() });
  t.after(() => sink.close());

  const events = [
    'foxpass-ldap-bind.json',
    'blitz-logback.log',
    // Pretty-printed as published: codec raw would refuse it, ocsf carries it in raw_data.
    'temporal-delete-user.json',
    'cloudtrail-log-file.json',
  ]
    .map(record)
    .concat(record('vpc-flow.log').split('\n'))
    .flatMap((text, i) => parseRecord({ text, idHint: `fixture-${i}` }, 'auto'));

  const outcomes = await sink.send(events, AbortSignal.timeout(20_000));

  assert.deepEqual(outcomes, events.map(() => ({ status: 'delivered' })));
  const keys = await s3.keys('lake');
  assert.equal(keys.length, 1);
  assert.match(keys[0]!, /^ocsf\/.*\.jsonl\.gz$/);
  const lines = gunzipSync(await s3.get('lake', keys[0]!)).toString('utf8').split('\n');
  assert.equal(lines.pop(), '', 'the object ends with a line break');
  const written = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    written.map((o) => [o.metadata.uid, o.raw_data]),
    events.map((e) => [e.id, e.raw]),
    'every event once, in order, with its id and its original record',
  );
  assert.deepEqual(
    written.map((o) => o.type_uid),
    [300201, 300201, 600304, 99, 600304, 300201, 400106, 400106, 99, 99],
    'Logon, Logon, API Delete, the sample whose sourceIPAddress is blanked as a Base Event, API Delete, Logon, two flows, and NODATA / SKIPDATA as Base Events',
  );
});
