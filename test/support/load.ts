/**
 * A bounded load generator for loopback servers: `concurrency` workers post
 * NDJSON batches of events with unique ids until stopped or `maxBatches`,
 * and remember which ids got a 2xx (those are the acknowledged ones).
 */
export function steadyLoad(url: string, opts: { prefix: string; batchSize?: number; concurrency?: number; maxBatches?: number }) {
  const batchSize = opts.batchSize ?? 20;
  const acked: string[] = [];
  const statuses = new Map<number, number>();
  let stopped = false;
  let next = 0;
  let batches = 0;
  const worker = async () => {
    while (!stopped && batches < (opts.maxBatches ?? 100_000)) {
      batches += 1;
      const ids = Array.from({ length: batchSize }, () => `${opts.prefix}-${next++}`);
      const body = ids.map((id, i) => JSON.stringify({ id, type: 'login', time: new Date().toISOString(), actor: `user${i % 7}`, outcome: 'success' })).join('\n');
      try {
        const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 200 && res.status < 300) acked.push(...ids);
        else if (res.status === 429) await new Promise((r) => setTimeout(r, 50));
      } catch {
        // Connection reset by a killed server: those ids were not acknowledged.
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        if (stopped) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  return {
    acked,
    statuses,
    stop: async () => {
      stopped = true;
      await done;
    },
    done,
  };
}
