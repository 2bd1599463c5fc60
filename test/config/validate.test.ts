import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ConfigErrors } from '../../src/core/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';

/** The `path: problem` lines Pipeline.validate throws for `raw`; [] when it is valid. */
function problems(raw: unknown): string[] {
  try {
    Pipeline.validate(raw);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err instanceof ConfigErrors ? err.errors.map((e) => e.message) : [err.message];
  }
}

test('server.listen takes a host the server can bind and a port 0–65535', () => {
  for (const listen of ['127.0.0.1:8080', '0.0.0.0:0', 'localhost:65535', '[::1]:8080', '[::]:9000', 'audit-1.internal.example:443']) {
    assert.deepEqual(problems({ server: { listen } }), [], listen);
  }
  for (const [listen, problem] of [
    ['127.0.0.1:65536', /port 65536 is out of range: use 0–65535/],
    ['127.0.0.1:99999', /port 99999 is out of range/],
    ['999.1.1.1:80', /"999\.1\.1\.1" is not an IPv4 address/],
    ['[zz::1]:80', /"\[zz::1\]" is not an IPv6 address/],
    ['::1:8080', /expected HOST:PORT \(an IPv6 host in brackets\)/],
    ['bad_host!:80', /"bad_host!" is not a host name or an IP address/],
    [':8080', /"" is not a host name/],
    ['127.0.0.1', /expected HOST:PORT/],
  ] as const) {
    const found = problems({ server: { listen } });
    assert.equal(found.length, 1, `${listen}: ${found.join('; ')}`);
    assert.match(found[0]!, new RegExp(`^server\\.listen: ${problem.source}`), listen);
  }
});

test('server.apiKeys takes strings or {key, textFormat}; a wrong entry is named by its index and key', () => {
  const key = 'k-0123456789abcdef';
  assert.deepEqual(problems({ server: { apiKeys: [key, { key: `${key}-2`, textFormat: 'vpc-flow' }, { key: `${key}-3` }] } }), []);
  assert.deepEqual(problems({ server: { apiKeys: ['short'] } }), ['server.apiKeys[0]: an API key must be at least 16 characters']);
  assert.deepEqual(problems({ server: { apiKeys: [key, { key, textFormat: 'cloudtrail' }] } }), [
    'server.apiKeys[1]: textFormat: Invalid option: expected one of "auto"|"vpc-flow"|"blitz"',
  ]);
  assert.deepEqual(problems({ server: { apiKeys: [{ key, textformat: 'blitz' }] } }), ['server.apiKeys[0].textformat: unknown key']);
  assert.deepEqual(problems({ server: { apiKeys: [42] } }), ['server.apiKeys[0]: expected an API key: a string, or an object {key, textFormat, vpcFlowFormat}']);
});

test('server.apiKeys[].vpcFlowFormat is checked as a source vpcFlowFormat is, and not with textFormat blitz', () => {
  const key = 'k-0123456789abcdef';
  assert.deepEqual(problems({ server: { apiKeys: [{ key, textFormat: 'vpc-flow', vpcFlowFormat: '${version} ${srcaddr} ${dstaddr} ${start} ${log-status}' }] } }), []);
  assert.deepEqual(problems({ server: { apiKeys: [{ key, vpcFlowFormat: '${version} ${srcadr}' }] } }), [
    'server.apiKeys[0].vpcFlowFormat: ${srcadr} is not a VPC or Transit Gateway flow log field',
  ]);
  assert.deepEqual(problems({ server: { apiKeys: [{ key, textFormat: 'blitz', vpcFlowFormat: '${version} ${srcaddr}' }] } }), [
    'server.apiKeys[0].vpcFlowFormat: applies to VPC flow log lines; this key reads text as blitz',
  ]);
});

test('sizes of 0 bytes and timers a Node timer cannot wait are refused, naming the key', () => {
  assert.deepEqual(
    problems({
      server: { limits: { maxBodyBytes: 0, maxEventBytes: '0KiB' }, shutdownTimeoutSec: 2e6 },
      audit: {
        emitTimeoutInSec: 1e10,
        emitters: [{ type: 'log', retry: { maxBackoffMs: 2 ** 31 }, batch: { maxBytes: 0, lingerMs: 1e12 } }],
      },
    }).sort(),
    [
      'audit.emitTimeoutInSec: at most 1000000 s (about 11 days)',
      'audit.emitters[0].batch.lingerMs: at most 2147483647 ms (24.8 days), the longest a Node timer waits',
      'audit.emitters[0].batch.maxBytes: must be more than 0 bytes',
      'audit.emitters[0].retry.maxBackoffMs: at most 2147483647 ms (24.8 days), the longest a Node timer waits',
      'server.limits.maxBodyBytes: must be more than 0 bytes',
      'server.limits.maxEventBytes: must be more than 0 bytes',
      'server.shutdownTimeoutSec: at most 1000000 s (about 11 days)',
    ],
  );
  assert.deepEqual(
    problems({ sources: [{ type: 's3', bucket: 'logs', pollIntervalSec: 1e7 }, { type: 'kinesis', streamName: 's', region: 'us-east-1', idlePollIntervalMs: 1e10 }] }),
    ['sources[0].pollIntervalSec: at most 1000000 s (about 11 days)', 'sources[1].idlePollIntervalMs: at most 2147483647 ms (24.8 days), the longest a Node timer waits'],
  );
});

test('the default queue holds one event of the default maxEventBytes; a larger maxEventBytes needs a larger queue', () => {
  assert.deepEqual(problems({}), []);
  assert.deepEqual(problems({ server: { limits: { maxEventBytes: '512MiB' } } }), [
    'audit.emitters[0].queue.maxBytes: 1073741824 bytes cannot hold one event of server.limits.maxEventBytes (536870912 bytes), which is queued with its parsed fields as up to 1610616832 bytes; set at least 1610616832 or lower server.limits.maxEventBytes',
    'audit.emitters[1].queue.maxBytes: 1073741824 bytes cannot hold one event of server.limits.maxEventBytes (536870912 bytes), which is queued with its parsed fields as up to 1610616832 bytes; set at least 1610616832 or lower server.limits.maxEventBytes',
  ]);
});

test("an emitter whose common keys are wrong still has its sink's keys checked in the same run", () => {
  assert.deepEqual(problems({ audit: { emitters: [{ type: 'kafka', queue: { maxBytes: 0 }, topic: 'bad topic!' }] } }).sort(), [
    'audit.emitters[0].bootstrapServers: Invalid input: expected array, received undefined',
    'audit.emitters[0].queue.maxBytes: must be more than 0 bytes',
    'audit.emitters[0].topic: Kafka topic names are 1–249 characters of letters, digits, ".", "_" and "-"',
  ]);
});

test('a log archive pattern derived from the data dir is checked as the sink will use it', () => {
  assert.deepEqual(problems({ dataDir: '/var/lib/audit-%d{yyyy}', audit: { emitters: [{ type: 'log' }] } }), [
    'audit.emitters[0].archivePattern: "/var/lib/audit-%d{yyyy}/logs/archive/audit.%d{yyyy-MM-dd}.log.gz": the date may appear only in the file name, not in its directory',
  ]);
});

test('journal.cacheBytes takes a size up to 1GiB, 0 included (no cache); beyond, the key is named', () => {
  for (const cacheBytes of ['8MiB', 0, '1GiB']) assert.deepEqual(problems({ journal: { cacheBytes } }), [], String(cacheBytes));
  for (const cacheBytes of ['2GiB', 'lots']) {
    const found = problems({ journal: { cacheBytes } });
    assert.equal(found.length, 1, found.join('; '));
    assert.match(found[0]!, /^journal\.cacheBytes: /);
  }
});

test('headers and secureParams take at most 64 entries, each map named by its key', () => {
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-H${i}`, `v${i}`]));
  const few = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`X-H${i}`, `v${i}`]));
  assert.deepEqual(problems({ audit: { emitters: [{ type: 'http', url: 'https://h.example/in', headers: few, secureParams: few }] } }), []);
  assert.deepEqual(
    problems({
      audit: {
        emitters: [
          { type: 'http', url: 'https://h.example/in', headers: many, secureParams: many },
          { type: 'kafka', bootstrapServers: ['b:9092'], topic: 't', sasl: { username: 'u', password: 'p', secureParams: many } },
        ],
      },
    }).sort(),
    ['audit.emitters[0].headers: at most 64 entries', 'audit.emitters[0].secureParams: at most 64 entries', 'audit.emitters[1].sasl.secureParams: at most 64 entries'],
  );
});
