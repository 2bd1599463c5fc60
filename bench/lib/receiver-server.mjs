/**
 * The destinations' far end for the tenants and inflight benchmarks: one
 * node:http server on 127.0.0.1 that takes any path (one per destination),
 * JSON.parses each body (the http emitter's json-array) and answers 200,
 * `--delay-ms N` after the body arrived (a slow destination). GET
 * /__bench/count returns { events, requests, paths } since the start. Prints
 * "listening on URL".
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const delayMs = Number(parseArgs({ options: { 'delay-ms': { type: 'string', default: '0' } } }).values['delay-ms']);

let events = 0;
let requests = 0;
const paths = new Set();

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__bench/count') {
    const body = JSON.stringify({ events, requests, paths: paths.size });
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(body);
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]');
    // Test & Add's check sends no event; only deliveries are counted.
    if (Array.isArray(parsed) && parsed.length > 0) {
      events += parsed.length;
      requests += 1;
      paths.add(req.url);
    }
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
