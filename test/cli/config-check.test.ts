import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The real CLI, as a user runs it. The kill is a safety net for a serve that should never have started, not an assertion. */
const cli = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, AUDITSTREAM_LOG_LEVEL: 'warn' },
  });

/** The `path: problem` lines of a config failure, without the "auditstream: config error: " prefix each line carries. */
function configErrorLines(stderr: string): string[] {
  const lines = stderr.trim().split('\n');
  for (const line of lines) assert.match(line, /^auditstream: config error: /, `every line names itself a config error:\n${stderr}`);
  return lines.map((l) => l.replace(/^auditstream: config error: /, ''));
}

async function configFile(dir: string, text: string): Promise<string> {
  const file = join(dir, 'auditstream.yaml');
  writeFileSync(file, text);
  return file;
}

for (const [what, yaml, expected] of [
  ['a port over 65535', 'server:\n  listen: 127.0.0.1:99999\n', /^server\.listen: port 99999 is out of range: use 0–65535/],
  [
    'Kafka TLS files that do not exist',
    'audit:\n  emitters:\n    - type: kafka\n      bootstrapServers: ["k:9093"]\n      topic: audit\n      ssl: { caFile: /no/such/ca.pem, certFile: /no/such/client.pem, keyFile: /no/such/client.key }\n',
    /^audit\.emitters\[0\]\.ssl\.caFile: cannot read \/no\/such\/ca\.pem: ENOENT$/,
  ],
  ['a queue of 0 bytes (429 forever)', 'audit:\n  emitters:\n    - type: log\n      queue: { maxBytes: 0 }\n', /^audit\.emitters\[0\]\.queue\.maxBytes: must be more than 0 bytes$/],
  [
    'a queue too small for one event of maxEventBytes',
    'server:\n  limits: { maxEventBytes: 64KiB }\naudit:\n  emitters:\n    - type: log\n      queue: { maxBytes: 100KiB }\n',
    /^audit\.emitters\[0\]\.queue\.maxBytes: 102400 bytes cannot hold one event of server\.limits\.maxEventBytes \(65536 bytes\).*set at least 200704/,
  ],
] as const) {
  test(`config check refuses ${what} with exit 2, naming the key`, async (t) => {
    const dir = await tempDir(t);
    const run = cli(['config', 'check', '-c', await configFile(dir, `dataDir: ${join(dir, 'data')}\n${yaml}`)]);
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.ok(configErrorLines(run.stderr).some((l) => expected.test(l)), run.stderr);
  });
}

// Problems in every part of the file: the top-level schema, common emitter keys, a sink's own keys,
// a sink's files, limits that do not fit together, the policy, sources.
const SEVERAL = (dataDir: string) => `
dataDir: ${dataDir}
server:
  listen: 127.0.0.1:99999
  apiKey: [x]
  limits: { maxEventBytes: 1KiB }
audit:
  emitTimeoutInSec: 10000000000
  emitters:
    - type: log
      name: users-log
      include: [logn]
      queue: { maxBytes: 2KiB }
    - type: kafka
      bootstrapServers: ["k:9093"]
      topic: audit
      ssl: { caFile: /no/such/ca.pem, enabledProtocols: [TLSv9] }
    - type: log
      name: admins-log
      logger: AUDITADMIN
      queue: { maxBytes: 0 }
      pattern: "%date %message"
    - type: kinesis
      streamName: s
sources:
  - type: s3
    name: archive
    bucket: logs
  - type: s3
    name: archive
    bucket: other-logs
  - type: syslog
`;

const SEVERAL_ERRORS = [
  'server.listen: port 99999 is out of range: use 0–65535 (0 picks a free port)',
  'server.apiKey: unknown key',
  'audit.emitTimeoutInSec: at most 1000000 s (about 11 days)',
  'audit.emitters[2].queue.maxBytes: must be more than 0 bytes',
  'audit.emitters[0].include[0]: unknown event type "logn" (did you mean "login"?); add it to audit.eventTypes if your producer sends it',
  'audit.emitters[0].queue.maxBytes: 2048 bytes cannot hold one event of server.limits.maxEventBytes (1024 bytes), which is queued with its parsed fields as up to 7168 bytes; set at least 7168 or lower server.limits.maxEventBytes',
  'audit.emitters[1].ssl.enabledProtocols: unknown protocol "TLSv9" (known: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)',
  'audit.emitters[1].ssl.caFile: cannot read /no/such/ca.pem: ENOENT',
  'audit.emitters[2].pattern: must end with %n so that each event is exactly one line',
  'audit.emitters[3].region: required (or give streamArn, which names the region)',
  'sources[1].name: duplicate source name "archive" (also sources[0]); give each source a distinct name',
  'sources[2].type: unknown source type "syslog" (known: cloudwatch-export, firehose, kinesis, s3; HTTP ingest is always on)',
];

test('config check reports every error of a config in one run, one per line, exit 2', async (t) => {
  const dir = await tempDir(t);
  const run = cli(['config', 'check', '-c', await configFile(dir, SEVERAL(join(dir, 'data')))]);
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.equal(run.stdout, '');
  assert.deepEqual(configErrorLines(run.stderr).sort(), [...SEVERAL_ERRORS].sort());
  assert.ok(!existsSync(join(dir, 'data')), 'checking created nothing');
});

test('serve refuses the same config with the same messages before it starts anything', async (t) => {
  const dir = await tempDir(t);
  const run = cli(['serve', '-c', await configFile(dir, SEVERAL(join(dir, 'data')))]);
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.doesNotMatch(run.stdout, /listening/);
  assert.deepEqual(configErrorLines(run.stderr).sort(), [...SEVERAL_ERRORS].sort());
  assert.ok(!existsSync(join(dir, 'data')), 'no data dir, queue or store was created');
});

test('one error keeps the single-line format users know', async (t) => {
  const dir = await tempDir(t);
  const run = cli(['config', 'check', '-c', await configFile(dir, 'audit:\n  emitters:\n    - type: log\n      include: [logn]\n')]);
  assert.equal(run.status, 2);
  assert.equal(run.stderr, 'auditstream: config error: audit.emitters[0].include[0]: unknown event type "logn" (did you mean "login"?); add it to audit.eventTypes if your producer sends it\n');
});

test('config check --help lists exactly the exit statuses the command gives', async (t) => {
  const help = cli(['config', 'check', '--help']);
  assert.equal(help.status, 0);
  const documented = Object.fromEntries([...help.stdout.matchAll(/^ {2}(\d) {2}(.+)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.deepEqual(Object.keys(documented).sort(), ['0', '1', '2'], help.stdout);

  const dir = await tempDir(t);
  const valid = cli(['config', 'check', '-c', await configFile(dir, `dataDir: ${join(dir, 'data')}\n`)]);
  assert.equal(valid.status, 0, valid.stderr);
  assert.match(documented['0']!, /valid/);
  assert.match(valid.stdout, /^config ok: /);

  const notYaml = cli(['config', 'check', '-c', await configFile(dir, 'audit: [\n')]);
  assert.equal(notYaml.status, 2, notYaml.stderr);
  assert.match(documented['2']!, /not YAML or JSON/);

  const usage = cli(['config', 'check', '--no-such-option']);
  assert.equal(usage.status, 1, usage.stderr);
  assert.match(documented['1']!, /usage error/);
});
