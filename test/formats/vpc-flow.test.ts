import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VPC_FLOW_EVENT_TYPES } from '../../src/formats/vpc-flow/event-types.js';
import { parseRecord } from '../../src/formats/parse.js';
import { fixture } from './fixtures.js';

const [reject, accept, nodata, skipdata] = fixture('vpc-flow.log').trimEnd().split('\n') as [string, string, string, string];

test('VPC flow REJECT record: numbers are numbers, start is the time, srcaddr the client, account the tenant', () => {
  const [e] = parseRecord({ text: reject, idHint: 'shardId-000000000001:4959:0' }, 'vpc-flow');
  assert.deepEqual(e, {
    id: 'shardId-000000000001:4959:0',
    time: '2021-04-27T15:40:50.000Z',
    type: 'vpc.flow',
    source: 'vpc-flow',
    outcome: 'failure',
    clientIp: '198.51.100.7',
    tenant: '311111777194',
    details: {
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
      tenant: '311111777194',
      details: {
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
      message: 'record: expected the 14 space-separated fields of VPC Flow Logs v2 (version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status), got 12',
    });
  }
});

test('VPC errors name the bad field', () => {
  const bad = (i: number, v: string) => reject.split(' ').map((t, j) => (j === i ? v : t)).join(' ');
  assert.throws(() => parseRecord({ text: bad(5, 'ssh') }, 'vpc-flow'), { message: 'srcport: expected a number or -, got "ssh"' });
  assert.throws(() => parseRecord({ text: bad(12, 'DROP') }, 'vpc-flow'), { message: 'action: expected ACCEPT, REJECT or -, got "DROP"' });
  assert.throws(() => parseRecord({ text: bad(13, 'FAILED') }, 'vpc-flow'), { message: 'log-status: expected OK, NODATA or SKIPDATA, got "FAILED"' });
  assert.throws(() => parseRecord({ text: bad(10, '-') }, 'vpc-flow'), { message: 'start: missing' });
  assert.throws(() => parseRecord({ text: '{"version":2}' }, 'vpc-flow'), { message: 'record: expected a VPC flow log line, got JSON' });
});
