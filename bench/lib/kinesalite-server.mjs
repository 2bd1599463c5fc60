/**
 * kinesalite (in-memory Kinesis emulator) on 127.0.0.1, with a counter of API
 * calls by operation in front of its request handler, so a benchmark can say
 * how many PutRecords calls a run made. GET /__bench/calls returns the counts
 * and resets them. Prints "listening on URL".
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const kinesalite = createRequire(import.meta.url)('kinesalite');
const emulator = kinesalite({ createStreamMs: 10, deleteStreamMs: 10, updateStreamMs: 10, shardLimit: 1000 });
const [handle] = emulator.listeners('request');
let calls = {};

const server = createServer((req, res) => {
  if (req.url === '/__bench/calls') {
    const body = JSON.stringify(calls);
    calls = {};
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(body);
  }
  const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() || 'unknown';
  calls[op] = (calls[op] ?? 0) + 1;
  return handle(req, res);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
