import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { ConfigError } from '../../src/core/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { resolveLogSinkConfig, type LogSinkConfig } from '../../src/sinks/log/config.js';
import { createLogSink, logSink } from '../../src/sinks/log/sink.js';
import { tempDir } from '../support/temp.js';

// Blitz's example log entry (docs/producers.md).
const SEED_JSON =
  '{"ip_st":"Tashkent","ip":"213.230.116.179","authnDone":"true","process_id":"b80ca03e-4718-44ff-9456-7d4255610eaa","ip_ctr":"Узбекистан","type":"login","object_id":"BIP-123456","protocol":"oAuth","subject_id":"BIP-123456","auth_methods":"cls:password","session_id":"f8d85ba2-a26a-447f-b82e-944b9218abb8","timestamp":1700476187069,"ch_platform_version":"\\"14.1.0\\"","ch_platform":"\\"macOS\\"","ip_ct":"Tashkent","id_store":"ldap01","ip_lng":"69.2494","ip_rad":"5","ch_ua":"\\"Google Chrome\\";v=\\"119\\", \\"Chromium\\";v=\\"119\\", \\"Not?A_Brand\\";v=\\"24\\"","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36","lp_id":"test-system","id":"6056828858453673-600312119","ip_lat":"41.3171","client_auth_method":"redirectUri"}';
const SEED_LINE = `2023-11-20 13:29:47,170 - [INFO] -[LoggerEventEmitterDriver.scala:37] - ${SEED_JSON}`;
const SEED_WRITTEN_AT = new Date('2023-11-20T13:29:47.170Z');

const blitzEvent: AuditEvent = {
  id: '6056828858453673-600312119',
  time: '2023-11-20T10:29:47.069Z',
  type: 'login',
  source: 'blitz',
  service: 'idp',
  outcome: 'success',
  actor: 'BIP-123456',
  clientIp: '213.230.116.179',
  sessionId: 'f8d85ba2-a26a-447f-b82e-944b9218abb8',
  details: { protocol: 'oAuth', auth_methods: 'cls:password', lp_id: 'test-system' },
  raw: SEED_JSON,
};

const parse = (config: Record<string, unknown>): LogSinkConfig => parseConfig(logSink.schema, config, 'audit.emitters[0]');

/** Writes `events` through a real sink into a temp dir and returns the file's lines. */
async function written(t: TestContext, config: Record<string, unknown>, events: AuditEvent[], at = SEED_WRITTEN_AT): Promise<string[]> {
  const dir = await tempDir(t);
  const sink = createLogSink(parse(config), { configPath: 'audit.emitters[0]', emitterName: 'users-log', dataDir: dir, logger: pino({ level: 'silent' }), metrics: new Registry() }, { now: () => at });
  t.after(() => sink.close());
  await sink.send(events, new AbortController().signal);
  return (await readFile(join(dir, 'logs', 'audit.log'), 'utf8')).split('\n').slice(0, -1);
}

function assertConfigError(fn: () => unknown, path: string, problem: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.path, path);
    assert.match(err.problem, problem);
    return true;
  });
}

test("Blitz's example log emitter blocks validate through the emitter config, each with its own file", () => {
  const [users, admins] = Pipeline.validate({
    audit: {
      emitters: [
        { type: 'log', name: 'users-log', enabled: true, logger: 'AUDIT', exclude: ['admin_added', 'admin_pswd_changed', 'admin_removed', 'admin_roles_changed', 'config_changed'] },
        { type: 'log', name: 'admins-log', enabled: true, logger: 'AUDITADMIN', include: ['admin_added', 'admin_pswd_changed', 'admin_removed', 'admin_roles_changed', 'config_changed'] },
      ],
      emitAtLeastOneOf: ['users-log', 'admins-log'],
    },
  }).emitters;
  const u = resolveLogSinkConfig(users!.sinkConfig as LogSinkConfig, '/var/lib/auditstream');
  const a = resolveLogSinkConfig(admins!.sinkConfig as LogSinkConfig, '/var/lib/auditstream');
  assert.deepEqual(u, {
    logger: 'AUDIT',
    file: '/var/lib/auditstream/logs/audit.log',
    archivePattern: '/var/lib/auditstream/logs/archive/audit.%d{yyyy-MM-dd}.log.gz',
    maxHistory: 90,
    totalSizeCap: 5 * 1024 ** 3,
    layout: 'json',
    pattern: '%date - [%level] -[%file:%line] - %message%n%xException{20}',
    message: 'event',
    level: 'INFO',
    fsync: true,
  });
  assert.equal(a.file, '/var/lib/auditstream/logs/auditadmin.log');
  assert.equal(a.archivePattern, '/var/lib/auditstream/logs/archive/auditadmin.%d{yyyy-MM-dd}.log.gz');
});

test("Blitz's logback appender translates key for key", () => {
  const c = resolveLogSinkConfig(
    parse({
      file: '/var/log/blitz/audit-blitz-idp.log',
      pattern: '%date - [%level] -[%file:%line] - %message%n%xException{20}',
      archivePattern: '/var/log/blitz/archive/audit-blitz-idp.%d{yyyy-MM-dd}.log.gz',
      maxHistory: 90,
      totalSizeCap: '5GB',
    }),
    '/data',
  );
  assert.equal(c.layout, 'pattern', 'a pattern alone selects the pattern layout');
  assert.equal(c.totalSizeCap, 5 * 1024 ** 3, 'logback sizes are powers of 1024');
  assert.equal(c.file, '/var/log/blitz/audit-blitz-idp.log');
});

test("pattern layout with Blitz's pattern writes lines shaped like Blitz's example", async (t) => {
  const [line] = await written(t, { pattern: '%date - [%level] -[%file:%line] - %message%n%xException{20}' }, [blitzEvent]);
  // There is no JVM call site: like logback without caller data, %file and %line print "?".
  const m = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) - \[INFO\] -\[\?:\?\] - (\{.*\})$/.exec(line!);
  assert.ok(m, line);
  assert.equal(m[1], '2023-11-20 13:29:47,170');
  assert.deepEqual(JSON.parse(m[2]!), blitzEvent);
});

test("message: raw with the call site as literal text reproduces Blitz's line byte for byte", async (t) => {
  const lines = await written(
    t,
    { pattern: '%date - [%level] -[LoggerEventEmitterDriver.scala:37] - %message%n%xException{20}', message: 'raw' },
    [blitzEvent],
  );
  assert.deepEqual(lines, [SEED_LINE]);
});

test('date options, level, logger, thread, MDC fields and width modifiers render like logback', async (t) => {
  const [line] = await written(
    t,
    {
      logger: 'blitz.audit.AUDIT',
      file: 'logs/audit.log',
      level: 'warn',
      pattern: "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %d{\"dd MMM yyyy, HH:mm\", UTC} |%-5p|%5.3level| %logger{10} %c %t %X{type} %X{actor} %X{protocol} %X{missing:-none}%n",
    },
    [blitzEvent],
  );
  assert.equal(line, "2023-11-20T13:29:47.170Z 20 Nov 2023, 13:29 |WARN |  ARN| b.a.AUDIT blitz.audit.AUDIT users-log login BIP-123456 oAuth none");
});

test('%X follows a dotted path into details, and never into what an object inherits', async (t) => {
  const event = { ...blitzEvent, details: { ...blitzEvent.details, device: { os: 'linux', tags: ['a', 'b'] } } };
  const [line] = await written(t, { pattern: '%X{device.os} %X{device.tags.1} %X{device.nope:-none} %X{constructor:-none} %X{device.__proto__:-none}%n' }, [event]);
  assert.equal(line, 'linux b none none none');
});

test('a line break inside a value cannot split one event over two lines', async (t) => {
  const lines = await written(t, { pattern: '%level %message%n', message: 'raw' }, [
    { ...blitzEvent, raw: '{\n  "type": "login"\r\n}' },
    blitzEvent,
  ]);
  assert.deepEqual(lines, ['INFO {   "type": "login" }', `INFO ${SEED_JSON}`]);
});

test('an unknown conversion word is a ConfigError naming the word and the key', () => {
  assertConfigError(() => parse({ pattern: '%date %highlight(%level) %m%n' }), 'audit.emitters[0].pattern', /"%highlight"/);
  assertConfigError(() => parse({ pattern: '%date %foo %m%n' }), 'audit.emitters[0].pattern', /unknown conversion word "%foo"/);
});

test('patterns that would not give one line per event, or not in UTC, are refused', () => {
  assertConfigError(() => parse({ pattern: '%date %m' }), 'audit.emitters[0].pattern', /must end with %n/);
  assertConfigError(() => parse({ pattern: '%date{HH:mm, Europe/Moscow} %m%n' }), 'audit.emitters[0].pattern', /time zone "Europe\/Moscow"/);
  assertConfigError(() => parse({ pattern: '%d{yyyy-MM-dd Q} %m%n' }), 'audit.emitters[0].pattern', /letter "Q"/);
});

test('archivePattern needs a daily %d in the file name and a supported compression', () => {
  assertConfigError(() => parse({ archivePattern: 'archive/audit.log.gz' }), 'audit.emitters[0].archivePattern', /%d\{yyyy-MM-dd\}/);
  assertConfigError(() => parse({ archivePattern: 'archive/audit.%d{yyyy-MM-dd}.%i.log.gz' }), 'audit.emitters[0].archivePattern', /only one/);
  assertConfigError(() => parse({ archivePattern: 'archive/audit.%d{yyyy-MM-dd}.zip' }), 'audit.emitters[0].archivePattern', /\.zip/);
  assertConfigError(() => parse({ archivePattern: 'archive/%d{yyyy-MM}/audit.%d.log.gz' }), 'audit.emitters[0].archivePattern', /directory/);
});

test('misplaced or mistyped keys are errors, not silently ignored', () => {
  assertConfigError(() => parse({ totalSizeCap: '5 pints' }), 'audit.emitters[0].totalSizeCap', /5 pints/);
  assertConfigError(() => parse({ layout: 'json', pattern: '%m%n' }), 'audit.emitters[0].pattern', /layout: pattern/);
  assertConfigError(() => parse({ message: 'raw' }), 'audit.emitters[0].message', /layout: pattern/);
  assertConfigError(() => parse({ maxHistroy: 30 }), 'audit.emitters[0].maxHistroy', /unknown key/);
  assertConfigError(() => parse({ level: 'LOUD' }), 'audit.emitters[0].level', /./);
});
