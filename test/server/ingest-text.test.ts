import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const VPC_ACCEPT = '2 123456789010 eni-1235b8ca 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1618530010 1618530070 ACCEPT OK';
const VPC_REJECT = '2 123456789010 eni-1235b8ca 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1618530010 1618530070 REJECT OK';
const VPC_NODATA = '2 123456789010 eni-1235b8ca - - - - - - - 1618530010 1618530070 - NODATA';
const BLITZ_LINE =
  '2023-11-20 13:29:47,170 - [INFO] -[LoggerEventEmitterDriver.scala:37] - ' +
  '{"ip":"213.230.116.179","type":"login","subject_id":"BIP-123456","session_id":"f8d85ba2-a26a-447f-b82e-944b9218abb8","timestamp":1700476187069,"id":"6056828858453673-600312119"}';

async function postText(url: string, body: string | Buffer, { query = '', headers = {} }: { query?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${url}/v1/events${query}`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, body: (await res.json()) as any };
}

function logLines(dataDir: string): any[] {
  try {
    return readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

test('text/plain lines are read as ?format= says, each line one event, and reach the log file', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });

  // As a Windows editor saves it: a byte order mark, CR LF line ends.
  const vpc = await postText(server.url, `\uFEFF${VPC_ACCEPT}\r\n${VPC_REJECT}\r\n\r\n${VPC_NODATA}\n`, { query: '?format=vpc-flow' });
  assert.equal(vpc.status, 202, JSON.stringify(vpc.body));
  assert.equal(vpc.body.accepted, 3);
  assert.deepEqual(vpc.body.rejected, []);

  const blitz = await postText(server.url, `${BLITZ_LINE}\n`, { query: '?format=blitz', headers: { 'content-type': 'text/plain; charset=UTF-8' } });
  assert.equal(blitz.status, 202, JSON.stringify(blitz.body));
  assert.deepEqual(blitz.body.ids, ['6056828858453673-600312119']);

  // No format: each line detected on its own; gzip as for JSON.
  const mixed = await postText(server.url, gzipSync(`${VPC_ACCEPT.replace('20641', '20642')}\n${BLITZ_LINE.replace('-600312119', '-600312120')}`), {
    headers: { 'content-encoding': 'gzip' },
  });
  assert.equal(mixed.status, 202, JSON.stringify(mixed.body));
  assert.equal(mixed.body.accepted, 2);

  const lines = await waitFor(() => (logLines(dataDir).length >= 6 ? logLines(dataDir) : null), 'six events in the log file');
  assert.deepEqual(
    lines.map((l) => [l.source, l.type]),
    [
      ['vpc-flow', 'vpc.flow'],
      ['vpc-flow', 'vpc.flow'],
      ['vpc-flow', 'vpc.nodata'],
      ['blitz', 'login'],
      ['vpc-flow', 'vpc.flow'],
      ['blitz', 'login'],
    ],
  );
  assert.equal(lines[0].raw, VPC_ACCEPT, 'raw is the line, without the byte order mark or its CR');
  assert.equal(lines[1].raw, VPC_REJECT);
  assert.equal(lines[1].outcome, 'failure');
  assert.equal(lines[3].raw, BLITZ_LINE, 'raw keeps the whole logback line');
  assert.equal(lines[3].actor, 'BIP-123456');
});

test('a line that does not parse is rejected by its index among non-blank lines; its siblings are stored', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });

  const res = await postText(server.url, `${VPC_ACCEPT}\n\n${BLITZ_LINE}\n${VPC_REJECT}\nnot a flow log\n`, { query: '?format=vpc-flow' });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.accepted, 2);
  assert.equal(res.body.rejectedTotal, 2);
  assert.deepEqual(
    res.body.rejected.map((r: { index: number }) => r.index),
    [1, 3],
    'indexes count non-blank lines from 0, as for NDJSON',
  );
  assert.match(res.body.rejected[0].error, /^line 3: record: has 7 fields, the format has 14 /);
  assert.match(res.body.rejected[1].error, /^line 5: /);

  const stored = await waitFor(() => (logLines(dataDir).length >= 2 ? logLines(dataDir) : null), 'the two good lines in the log file');
  assert.deepEqual(
    stored.map((l) => l.raw),
    [VPC_ACCEPT, VPC_REJECT],
  );

  const none = await postText(server.url, 'garbage\n', { query: '?format=blitz' });
  assert.equal(none.status, 400);
  assert.equal(none.body.code, 'NO_VALID_EVENTS');
  assert.equal(none.body.rejected[0].index, 0);
});

test('a wrong format is a 400 naming the allowed values, another charset a 415 naming it; the limits hold per line', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { limits: { maxEventBytes: 200, maxEventsPerRequest: 3 } } } });

  const unknown = await postText(server.url, VPC_ACCEPT, { query: '?format=cloudtrail' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'FORMAT_INVALID');
  assert.match(unknown.body.error, /"cloudtrail".*auto, vpc-flow, blitz/);

  const onJson = await fetch(`${server.url}/v1/events?format=vpc-flow`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z' }),
  });
  assert.equal(onJson.status, 400);
  assert.match(((await onJson.json()) as { error: string }).error, /text\/plain bodies only/);

  const latin1 = await postText(server.url, VPC_ACCEPT, { headers: { 'content-type': 'text/plain; charset=ISO-8859-1' } });
  assert.equal(latin1.status, 415);
  assert.equal(latin1.body.code, 'UNSUPPORTED_CHARSET');
  assert.match(latin1.body.error, /charset=iso-8859-1/);

  const long = await postText(server.url, `${VPC_ACCEPT}\n${BLITZ_LINE}\n`);
  assert.equal(long.status, 202, JSON.stringify(long.body));
  assert.equal(long.body.accepted, 1);
  assert.deepEqual(long.body.rejected.map((r: { index: number }) => r.index), [1]);
  assert.match(long.body.rejected[0].error, /over server\.limits\.maxEventBytes \(200\)/);

  await waitFor(() => logLines(dataDir).length === 1, 'the one short line in the log file');
  const many = await postText(server.url, [VPC_ACCEPT, VPC_REJECT, VPC_NODATA, VPC_ACCEPT].join('\n'), { query: '?format=vpc-flow' });
  assert.equal(many.status, 413);
  assert.equal(many.body.code, 'TOO_MANY_EVENTS');
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(logLines(dataDir).length, 1, 'nothing of a refused body is stored');
});

test("an API key's textFormat reads its text bodies when the request names no format", async (t) => {
  const dataDir = await tempDir(t);
  const vpcKey = 'k-vpc-0123456789abcdef';
  const plainKey = 'k-plain-0123456789abcdef';
  const server = await startServer(t, { dataDir, config: { server: { apiKeys: [{ key: vpcKey, textFormat: 'vpc-flow' }, plainKey] } } });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  assert.equal((await postText(server.url, VPC_ACCEPT, { headers: as('k-wrong-0123456789abcdef') })).status, 401);

  const byKey = await postText(server.url, `${VPC_ACCEPT}\n${BLITZ_LINE}\n`, { headers: as(vpcKey) });
  assert.equal(byKey.status, 202, JSON.stringify(byKey.body));
  assert.equal(byKey.body.accepted, 1);
  assert.deepEqual(byKey.body.rejected.map((r: { index: number }) => r.index), [1], 'the Blitz line is not read as auto would read it');

  const overridden = await postText(server.url, BLITZ_LINE, { query: '?format=blitz', headers: as(vpcKey) });
  assert.equal(overridden.status, 202, '?format= wins over the key');

  const plain = await postText(server.url, `${VPC_ACCEPT.replace('20641', '1')}\n${BLITZ_LINE.replace('-600312119', '-1')}\n`, { headers: as(plainKey) });
  assert.equal(plain.status, 202, JSON.stringify(plain.body));
  assert.equal(plain.body.accepted, 2, 'a key in string form reads text as auto');
});

/** The version 5 custom format of test/fixtures/formats/vpc-flow-v5-custom.log (29 fields). */
const V5_FORMAT =
  '${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ' +
  '${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ' +
  '${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}';
const V5_LINE = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'formats', 'vpc-flow-v5-custom.log'), 'utf8').trim();

test('custom VPC flow log formats over text ingest: ?vpcFlowFormat= or the API key\'s, checked as the source key is; a line that does not match names both field counts', async (t) => {
  const dataDir = await tempDir(t);
  const v5Key = 'k-v5-0123456789abcdef';
  const plainKey = 'k-plain-0123456789abcdef';
  const server = await startServer(t, { dataDir, config: { server: { apiKeys: [{ key: v5Key, textFormat: 'vpc-flow', vpcFlowFormat: V5_FORMAT }, plainKey] } } });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const query = (format: string, extra = '') => `?format=${format}&vpcFlowFormat=${encodeURIComponent(V5_FORMAT)}${extra}`;

  // Given in the request: the 29-field line is read by it, a default-format line is rejected naming both counts.
  const byQuery = await postText(server.url, `${V5_LINE}\n${VPC_ACCEPT}\n`, { query: query('vpc-flow'), headers: as(plainKey) });
  assert.equal(byQuery.status, 202, JSON.stringify(byQuery.body));
  assert.equal(byQuery.body.accepted, 1);
  assert.deepEqual(byQuery.body.rejected, [{ index: 1, error: `line 2: record: has 14 fields, the format has 29 (${V5_FORMAT.replace(/\$\{([^}]+)\}/g, '$1')})` }]);

  // auto detects lines of the given format, too.
  const auto = await postText(server.url, V5_LINE.replace('43412', '43413'), { query: query('auto'), headers: as(plainKey) });
  assert.equal(auto.status, 202, JSON.stringify(auto.body));
  // Without it the same line is no known text format.
  const none = await postText(server.url, V5_LINE.replace('43412', '43414'), { query: '?format=vpc-flow', headers: as(plainKey) });
  assert.equal(none.status, 400);
  assert.match(none.body.rejected[0].error, /line 1: record: has 29 fields, the format has 14/);

  // From the key, when the request names none.
  const byKey = await postText(server.url, `${V5_LINE.replace('43412', '43415')}\n`, { headers: as(v5Key) });
  assert.equal(byKey.status, 202, JSON.stringify(byKey.body));
  assert.equal(byKey.body.accepted, 1);

  const lines = await waitFor(() => (logLines(dataDir).length >= 3 ? logLines(dataDir) : null), 'three events in the log file');
  for (const e of lines) {
    assert.equal(e.type, 'vpc.flow');
    assert.equal(e.details['flow-direction'], 'egress', 'fields the default format lacks are read');
    assert.equal(e.details['pkt-dst-aws-service'], 'S3');
  }

  // Refused whole, naming what is wrong, as a source's vpcFlowFormat is refused at load.
  const refusals: [string, RegExp][] = [
    ['?format=vpc-flow&vpcFlowFormat=' + encodeURIComponent('${version} ${srcadr}'), /^vpcFlowFormat: \$\{srcadr\} is not a VPC or Transit Gateway flow log field$/],
    ['?format=vpc-flow&vpcFlowFormat=' + encodeURIComponent('version srcaddr'), /^vpcFlowFormat: "version" is not a \$\{field-name\}$/],
    [query('blitz'), /^vpcFlowFormat: applies to VPC flow log lines .* read as blitz$/],
    [query('vpc-flow', `&vpcFlowFormat=${encodeURIComponent('${version}')}`), /^vpcFlowFormat: sent 2 times/],
    [`?vpcFlowFormat=${'x'.repeat(5000)}`, /^vpcFlowFormat: longer than 4096 characters$/],
  ];
  for (const [q, message] of refusals) {
    const res = await postText(server.url, V5_LINE, { query: q, headers: as(plainKey) });
    assert.equal(res.status, 400, q);
    assert.equal(res.body.code, 'FORMAT_INVALID');
    assert.match(res.body.error, message);
  }
});
