/**
 * The ingest baseline: a bare node:http endpoint that reads each POST body,
 * splits NDJSON lines and JSON.parses each one, then answers 202 — the least
 * any Node ingest must do, so its rate is the ceiling for Node on this machine.
 * Run as its own process: `node bare-server.mjs`; prints "listening on URL".
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let accepted = 0;
    for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      JSON.parse(line);
      accepted++;
    }
    const body = JSON.stringify({ accepted });
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
