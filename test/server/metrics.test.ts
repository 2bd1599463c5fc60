import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitterStatus } from '../support/search.js';
import { startServer } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

test('the emitter state gauge: its help names exactly the codes it reports, and disabled emitters have no series', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, {
    dataDir,
    config: { audit: { emitters: [{ type: 'log' }, { type: 'log', name: 'off', logger: 'OFF', enabled: false }] } },
  });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const help = /^# HELP auditstream_emitter_state (.*)$/m.exec(text)?.[1];
  assert.ok(help, text);
  const codes = new Map([...help.matchAll(/(\d+) (\w+)/g)].map((m) => [m[2]!, Number(m[1])]));
  assert.deepEqual([...codes.keys()], ['idle', 'sending', 'retrying', 'failing', 'stopped', 'paused'], help);
  assert.ok(!codes.has('disabled'), `no code is claimed for disabled emitters: ${help}`);

  const series = [...text.matchAll(/^auditstream_emitter_state\{[^}]*component_id="([^"]+)"[^}]*\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
  assert.deepEqual(series.map(([name]) => name), ['log'], 'only the running emitter has a series');
  const status = await emitterStatus(server.url);
  assert.equal(status.off!.state, 'disabled', 'the disabled emitter is listed by the API');
  assert.equal(series[0]![1], codes.get(status.log!.state), `the value reported is the help's code for "${status.log!.state}"`);
});
