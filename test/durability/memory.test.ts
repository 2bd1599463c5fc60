import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { AuditEvent } from '../../src/core/event.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { freePort } from '../support/free-port.js';
import { tempDir } from '../support/temp.js';

// Live heap after a full GC: what the process really holds, unlike RSS, which
// also counts garbage not yet collected and so rises under any load.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const liveHeapMiB = () => {
  gc();
  return process.memoryUsage().heapUsed / 1048576;
};

test('memory stays flat while a destination is down: waiting events live on disk, not in memory', async (t) => {
  const dataDir = await tempDir(t);
  const closedPort = await freePort();
  const { config } = loadConfig({ env: {}, overrides: { dataDir } });
  const store = config.audit.emitters.find((e) => e.type === 'audit-store') as Record<string, unknown>;
  store.url = `postgres://postgres@127.0.0.1:${closedPort}/down`;
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  t.after(() => pipeline.stop(100));
  const batch = (k: number): AuditEvent[] =>
    Array.from({ length: 100 }, (_, i) => ({ id: `m${k}-${i}`, time: new Date().toISOString(), type: 'login', source: 'generic', outcome: 'success', actor: `user${i}`, details: { pad: 'x'.repeat(150) }, raw: '{}' }));
  const publish = async (from: number, count: number) => {
    for (let k = from; k < from + count; k++) assert.equal((await pipeline.router.publish(batch(k))).ok, true);
  };
  await publish(0, 200);
  const at20k = liveHeapMiB();
  await publish(200, 600);
  const at80k = liveHeapMiB();
  const depth = pipeline.emitter('audit-store')!.status().depth;
  t.diagnostic(`live heap ${at20k.toFixed(1)} MiB with 20k waiting, ${at80k.toFixed(1)} MiB with ${depth} waiting`);
  assert.equal(depth, 80_000, 'every event is waiting for the store');
  // Held in memory, 60k more events (~400 bytes of JSON each, more as objects) would add well over 25 MiB.
  assert.ok(at80k - at20k < 8, `live heap grew ${(at80k - at20k).toFixed(1)} MiB for 60k more waiting events`);
});
