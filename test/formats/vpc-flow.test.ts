import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VPC_FLOW_EVENT_TYPES } from '../../src/formats/vpc-flow/event-types.js';
import { parseRecord } from '../../src/formats/parse.js';
import { readRecord } from '../../src/formats/read-record.js';
import { vpcFlowLayout } from '../../src/formats/vpc-flow/log-format.js';
import { vpcFlowFormatOption } from '../../src/formats/vpc-flow/format-option.js';
import { fixture } from './fixtures.js';
import type { AuditEvent } from '../../src/core/event.js';
import { DEFAULT_PARSE_CONTEXT } from '../../src/formats/producer-format.js';

const [reject, accept, nodata, skipdata] = fixture('vpc-flow.log').trimEnd().split('\n') as [string, string, string, string];

test('VPC flow REJECT record: numbers are numbers, start is the time, srcaddr the client; account-id stays in details, never the tenant', () => {
  const [e] = parseRecord({ text: reject, idHint: 'shardId-000000000001:4959:0' }, 'vpc-flow');
  assert.deepEqual(e, {
    id: 'shardId-000000000001:4959:0',
    time: '2021-04-27T15:40:50.000Z',
    type: 'vpc.flow',
    source: 'vpc-flow',
    outcome: 'failure',
    clientIp: '198.51.100.7',
    details: {
      'account-id': '311111777194',
      version: 2,
      'interface-id': 'eni-054c755e644dcf32d',
      dstaddr: '172.31.16.139',
      srcport: 22898,
      dstport: 22717,
      protocol: 6,
      packets: 1,
      bytes: 40,
      end: 1619538102,
    },
    raw: reject,
  });
});

test('VPC flow ACCEPT record is a success', () => {
  const [e] = parseRecord({ text: accept }, 'vpc-flow');
  assert.equal(e!.outcome, 'success');
  assert.equal(e!.time, '2021-04-27T16:14:45.000Z');
  assert.equal(e!.clientIp, '172.31.16.139');
  assert.deepEqual(e!.details, {
    version: 2,
    'account-id': '311111777194',
    'interface-id': 'eni-054c755e644dcf32d',
    dstaddr: '198.51.100.7',
    srcport: 22,
    dstport: 43638,
    protocol: 6,
    packets: 3,
    bytes: 3996,
    end: 1619540142,
  });
});

test('VPC NODATA and SKIPDATA records: own types, "-" fields kept as null, outcome unknown', () => {
  for (const [line, type] of [[nodata, 'vpc.nodata'], [skipdata, 'vpc.skipdata']] as const) {
    const [e] = parseRecord({ text: line, idHint: 'h' }, 'vpc-flow');
    assert.deepEqual(e, {
      id: 'h',
      time: type === 'vpc.nodata' ? '2021-04-27T16:16:40.000Z' : '2021-04-27T16:18:20.000Z',
      type,
      source: 'vpc-flow',
      outcome: 'unknown',
      details: {
        'account-id': '311111777194',
        version: 2,
        'interface-id': 'eni-054c755e644dcf32d',
        srcaddr: null,
        dstaddr: null,
        srcport: null,
        dstport: null,
        protocol: null,
        packets: null,
        bytes: null,
        end: type === 'vpc.nodata' ? 1619540260 : 1619540360,
      },
      raw: line,
    });
    assert.ok(Object.hasOwn(VPC_FLOW_EVENT_TYPES, type));
  }
});

test("VPC record behind FortiSIEM's display prefix is read; raw keeps what was received", () => {
  const shown = `2021-04-27T08:40:50.00Z [FSM-AWSKinesis] ${reject}`;
  const [e] = parseRecord({ text: shown, idHint: 'h' }, 'auto');
  const [plain] = parseRecord({ text: reject, idHint: 'h' }, 'vpc-flow');
  assert.deepEqual(e, { ...plain, raw: shown });
});

test('the SIEM guide sample as published (addresses missing) is rejected with the field count', () => {
  const published = fixture('vpc-flow-fortisiem-display.txt').trim();
  const second = published.indexOf(' 2021-04-27T09:14:45.00Z');
  for (const shown of [published.slice(0, second), published.slice(second + 1)]) {
    assert.throws(() => parseRecord({ text: shown }, 'vpc-flow'), {
      message: 'record: has 12 fields, the format has 14 (version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status)',
    });
  }
});

test('VPC errors name the bad field', () => {
  const bad = (i: number, v: string) => reject.split(' ').map((t, j) => (j === i ? v : t)).join(' ');
  assert.throws(() => parseRecord({ text: bad(5, 'ssh') }, 'vpc-flow'), { message: 'srcport: expected a number or -, got "ssh"' });
  assert.throws(() => parseRecord({ text: bad(12, 'DROP') }, 'vpc-flow'), { message: 'action: expected ACCEPT, REJECT or -, got "DROP"' });
  assert.throws(() => parseRecord({ text: bad(13, 'FAILED') }, 'vpc-flow'), { message: 'log-status: expected OK, NODATA or SKIPDATA, got "FAILED"' });
  assert.throws(() => parseRecord({ text: bad(10, '-') }, 'vpc-flow'), { message: 'start: missing' });
  assert.throws(() => parseRecord({ text: '{"version":2}' }, 'vpc-flow'), { message: 'record: expected a VPC flow log line or {"message":"<line>"}, got JSON' });
});

/** The format string the v5 fixture's flow log was created with (AWS does not write it into the records). */
const V5_FORMAT =
  '${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ' +
  '${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ' +
  '${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}';

test('a v5 custom-format line reads by the configured format string: every field kept, typed', () => {
  const line = fixture('vpc-flow-v5-custom.log').trimEnd();
  const [e] = parseRecord({ text: line, idHint: 'h' }, 'vpc-flow', { ...DEFAULT_PARSE_CONTEXT, vpcFlow: vpcFlowLayout(V5_FORMAT) });
  assert.deepEqual(e, {
    id: 'h',
    time: '2023-11-14T22:13:20.000Z',
    type: 'vpc.flow',
    source: 'vpc-flow',
    outcome: 'success',
    clientIp: '10.0.1.5',
    details: {
      'account-id': '123456789012',
      version: 5,
      'vpc-id': 'vpc-0a1b2c3d4e5f67890',
      'subnet-id': 'subnet-0123456789abcdef0',
      'instance-id': 'i-0a1b2c3d4e5f67890',
      'interface-id': 'eni-0a1b2c3d4e5f67890',
      type: 'IPv4',
      dstaddr: '52.95.110.1',
      srcport: 43412,
      dstport: 443,
      'pkt-srcaddr': '10.0.1.5',
      'pkt-dstaddr': '52.95.110.1',
      protocol: 6,
      bytes: 5201,
      packets: 18,
      end: 1700000060,
      'tcp-flags': 19,
      region: 'us-east-1',
      'az-id': 'use1-az1',
      'sublocation-type': null,
      'sublocation-id': null,
      'pkt-src-aws-service': null,
      'pkt-dst-aws-service': 'S3',
      'flow-direction': 'egress',
      'traffic-path': 8,
    },
    raw: line,
  });
  // parse: auto takes it too once the format is configured, and not without it.
  assert.deepEqual(parseRecord({ text: line, idHint: 'h' }, 'auto', { ...DEFAULT_PARSE_CONTEXT, vpcFlow: vpcFlowLayout(V5_FORMAT) }), [e]);
  assert.throws(() => parseRecord({ text: line }, 'auto'), /neither JSON nor a known text format/);
});

test('a line that does not match its format is rejected with both field counts', () => {
  const line = fixture('vpc-flow-v5-custom.log').trimEnd();
  assert.throws(() => parseRecord({ text: line }, 'vpc-flow'), {
    message: 'record: has 29 fields, the format has 14 (version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status)',
  });
  const ctx = { ...DEFAULT_PARSE_CONTEXT, vpcFlow: vpcFlowLayout(V5_FORMAT) };
  assert.throws(() => parseRecord({ text: reject }, 'vpc-flow', ctx), { message: /^record: has 14 fields, the format has 29 \(version vpc-id subnet-id / });
  const badAddress = line.replace(' 52.95.110.1 43412', ' s3.amazonaws.com 43412');
  assert.throws(() => parseRecord({ text: badAddress }, 'vpc-flow', ctx), { message: 'dstaddr: expected an IP address or -, got "s3.amazonaws.com"' });
});

test('an S3 object whose first line names the fields is read by that header; the header is no event', () => {
  const text = fixture('vpc-flow-s3-header.log');
  const lines = text.trimEnd().split('\n');
  const read = readRecord(Buffer.from(text), { decode: 'auto', parse: 'auto', idHint: 's3://b/k#e', origin: { bucket: 'b', key: 'k' } });
  assert.deepEqual(read.errors, []);
  assert.equal(read.events.length, 3);
  const [rejected, accepted, nodata] = read.events as [AuditEvent, AuditEvent, AuditEvent];
  assert.deepEqual(rejected, {
    id: rejected.id,
    time: '2023-11-14T22:15:00.000Z',
    type: 'vpc.flow',
    source: 'vpc-flow',
    outcome: 'failure',
    clientIp: '203.0.113.12',
    details: {
      'account-id': '123456789012',
      version: 8,
      'interface-id': 'eni-0b1c2d3e4f5a67890',
      dstaddr: '10.0.2.20',
      srcport: 51544,
      dstport: 8080,
      protocol: 6,
      packets: 2,
      bytes: 120,
      end: 1700000160,
      'vpc-id': 'vpc-0a1b2c3d4e5f67890',
      'flow-direction': 'ingress',
      'ecs-cluster-name': 'audit-cluster',
      'ecs-task-id': '0123456789abcdef0123456789abcdef',
      'reject-reason': 'BPA',
    },
    origin: { bucket: 'b', key: 'k' },
    raw: lines[1],
  });
  assert.equal(accepted.outcome, 'success');
  assert.equal(accepted.details['reject-reason'], null);
  assert.equal(nodata.type, 'vpc.nodata');
  // The header overrides a configured format for its own object only.
  const configured = readRecord(Buffer.from(text), { decode: 'auto', parse: 'vpc-flow', vpcFlowFormat: V5_FORMAT });
  assert.deepEqual(configured.errors, []);
  const plain = readRecord(Buffer.from(lines.slice(1).join('\n')), { decode: 'auto', parse: 'vpc-flow', vpcFlowFormat: V5_FORMAT });
  assert.deepEqual(plain.errors.map((x) => x.error), [1, 2, 3].map((n) => `line ${n}: record: has 19 fields, the format has 29 (${vpcFlowLayout(V5_FORMAT).fields.join(' ')})`));
});

test('a Transit Gateway flow log line in its default format is read without a configured format', () => {
  const line = fixture('vpc-flow-tgw.log').trimEnd();
  const [e] = parseRecord({ text: line, idHint: 'h' }, 'auto');
  assert.deepEqual(e, {
    id: 'h',
    time: '2023-11-14T22:18:20.000Z',
    type: 'vpc.flow',
    source: 'vpc-flow',
    // Transit gateways have no security groups: their records carry no action.
    outcome: 'unknown',
    clientIp: '10.0.1.5',
    details: {
      'account-id': '123456789012',
      version: 6,
      'resource-type': 'TransitGateway',
      'tgw-id': 'tgw-0a1b2c3d4e5f67890',
      'tgw-attachment-id': 'tgw-attach-0a1b2c3d4e5f67890',
      'tgw-src-vpc-account-id': '123456789012',
      'tgw-dst-vpc-account-id': '210987654321',
      'tgw-src-vpc-id': 'vpc-0a1b2c3d4e5f67890',
      'tgw-dst-vpc-id': 'vpc-0f9e8d7c6b5a43210',
      'tgw-src-subnet-id': 'subnet-0123456789abcdef0',
      'tgw-dst-subnet-id': 'subnet-0fedcba9876543210',
      'tgw-src-eni': 'eni-0a1b2c3d4e5f67890',
      'tgw-dst-eni': 'eni-0f9e8d7c6b5a43210',
      'tgw-src-az-id': 'use1-az1',
      'tgw-dst-az-id': 'use1-az2',
      'tgw-pair-attachment-id': 'tgw-attach-0f9e8d7c6b5a43210',
      dstaddr: '10.1.2.9',
      srcport: 49152,
      dstport: 5432,
      protocol: 6,
      packets: 40,
      bytes: 18020,
      end: 1700000360,
      type: 'IPv4',
      'packets-lost-no-route': 0,
      'packets-lost-blackhole': 0,
      'packets-lost-mtu-exceeded': 0,
      'packets-lost-ttl-expired': 0,
      'tcp-flags': 3,
      region: 'us-east-1',
      'flow-direction': 'ingress',
      'pkt-src-aws-service': null,
      'pkt-dst-aws-service': null,
    },
    raw: line,
  });
});

test("Firehose's {\"message\": \"<line>\"} wrapper is read as the line it wraps; raw keeps the wrapper", () => {
  const wrapped = JSON.stringify({ message: reject });
  const [e] = parseRecord({ text: wrapped, idHint: 'h' }, 'auto');
  const [plain] = parseRecord({ text: reject, idHint: 'h' }, 'vpc-flow');
  assert.deepEqual(e, { ...plain, raw: wrapped });
  // A message that is no flow log line leaves the record to the other formats (here generic, which wants a type).
  assert.throws(() => parseRecord({ text: JSON.stringify({ message: 'hello' }) }, 'auto'), { message: 'type: missing (give "type" or "eventType")' });
});

test('a vpcFlowFormat that is not a format string fails when the config loads, naming the token', () => {
  const problem = (format: string) => {
    const r = vpcFlowFormatOption.safeParse(format);
    return r.success ? undefined : r.error.issues[0]!.message;
  };
  assert.equal(problem(V5_FORMAT), undefined);
  assert.equal(problem('${version} ${srcadr}'), '${srcadr} is not a VPC or Transit Gateway flow log field');
  assert.equal(problem('version srcaddr'), '"version" is not a ${field-name}');
  assert.equal(problem('${version} ${version}'), '${version} appears twice');
  assert.equal(problem('  '), 'expected at least one field, e.g. "${version} ${srcaddr} ${dstaddr}"');
});
