import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { S3rver } from './s3rver.js';

/**
 * A proxy in front of s3rver that answers every DELETE with S3's AccessDenied
 * while `denyDeletes` is set (a role without s3:DeleteObject), and every GET
 * of the object keys in `denyGets` likewise (one object the role may not read,
 * e.g. encrypted with a KMS key it cannot use), and passes everything else
 * through. s3rver has no permissions to take away.
 */
export async function deleteDenyingProxy(t: TestContext, s3: S3rver) {
  const upstream = new URL(s3.endpoint);
  const state = { denyDeletes: true, deniedDeletes: 0, denyGets: new Set<string>(), deniedGets: 0, endpoint: '' };
  const server = createServer((req, res) => {
    const deniedGet = req.method === 'GET' && state.denyGets.has(decodeURIComponent(new URL(req.url!, 'http://proxy').pathname).split('/').slice(2).join('/'));
    if ((req.method === 'DELETE' && state.denyDeletes) || deniedGet) {
      if (deniedGet) state.deniedGets++;
      else state.deniedDeletes++;
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>test</RequestId></Error>');
      return;
    }
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
